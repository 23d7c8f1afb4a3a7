package app

import (
	"context"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/store"
)

// TestSuppressionsBySource: the list says how each address came onto it,
// bounces included, and ?source= shows one way apart: unsubscribes by any
// of their ways, bounces, or the owner's additions; an unknown source is
// refused, saying which there are.
func TestSuppressionsBySource(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	k := keyOfToken(t, e, tok)
	now := time.Now().UTC()
	if _, err := e.store.Suppress(context.Background(), k, []store.Suppression{
		{Address: "page@contoso.example", At: now, Source: "unsubscribe"},
		{Address: "button@contoso.example", At: now, Source: "one-click"},
		{Address: "mail@contoso.example", At: now, Source: "email"},
		{Address: "gone@contoso.example", At: now, Source: store.SourceBounce},
		{Key: store.SuppressionKey("deleted@contoso.example"), At: now, Source: store.SourceBounce},
		{Address: "mine@contoso.example", At: now, Source: "added"},
	}); err != nil {
		t.Fatal(err)
	}
	list := func(query string) map[string]string {
		t.Helper()
		status, got := e.do(t, "GET", "/v1/suppressions"+query, tok, "")
		if status != 200 {
			t.Fatalf("GET %s: %d %v", query, status, got)
		}
		out := map[string]string{}
		for _, s := range got["suppressions"].([]any) {
			s := s.(map[string]any)
			name, _ := s["address"].(string)
			if name == "" {
				name = s["key"].(string)
			}
			out[name] = s["source"].(string)
		}
		return out
	}
	if all := list(""); len(all) != 6 || all["gone@contoso.example"] != "bounce" {
		t.Errorf("the whole list: %v", all)
	}
	for query, want := range map[string][]string{
		"?source=unsubscribe": {"page@contoso.example", "button@contoso.example", "mail@contoso.example"},
		"?source=bounce":      {"gone@contoso.example", store.SuppressionKey("deleted@contoso.example")},
		"?source=added":       {"mine@contoso.example"},
	} {
		got := list(query)
		if len(got) != len(want) {
			t.Errorf("%s: %v, want %v", query, got, want)
		}
		for _, w := range want {
			if _, ok := got[w]; !ok {
				t.Errorf("%s: %s missing from %v", query, w, got)
			}
		}
	}
	if status, got := e.do(t, "GET", "/v1/suppressions?source=spam", tok, ""); status != 400 || testenv.ErrorCode(got) != "source_invalid" {
		t.Errorf("an unknown source: %d %v", status, got)
	}
}
