package app

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/dev/testqueue"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
	"mailmerge/handler/internal/tracking"
)

type failingQueue struct{}

func (failingQueue) Send(ctx context.Context, m queue.Message) error { return errors.New("queue down") }

func unsubscribeServer(t *testing.T, q task.Sender) *httptest.Server {
	t.Helper()
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(New(Deps{Logger: logger, Store: st, Lifecycle: lifecycle.New(st, q, logger, time.Now), TrackingKeys: trackingKeys}))
	t.Cleanup(srv.Close)
	return srv
}

// TestUnsubscribe: the link shows a page with a button and changes
// nothing; the button and RFC 8058's one-click POST queue the unsubscribe
// (answered 200, no redirect); a token that is not ours gets 404; a
// queue that cannot take it gets 503 and a page saying to try again.
func TestUnsubscribe(t *testing.T) {
	q := &testqueue.Queue{}
	srv := unsubscribeServer(t, q)
	k := account.Key{TenantID: devauth.ContosoTenant, ObjectID: "a11ce000-0000-4000-8000-00000000a001"}
	tok, err := trackingKeys.Sign(tracking.Target{Kind: tracking.Unsubscribe, Account: k, CampaignID: trackedCampaign, Row: 4})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := noRedirects().Get(srv.URL + "/u/" + tok)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `<form method="post">`) || !strings.Contains(string(body), "<button") ||
		strings.Contains(string(body), "<img") || strings.Contains(string(body), "<script") || len(q.All()) != 0 {
		t.Fatalf("page: %d %s, %d queued", resp.StatusCode, body, len(q.All()))
	}
	for _, oneClick := range []bool{false, true} {
		form := url.Values{}
		if oneClick {
			form.Set("List-Unsubscribe", "One-Click")
		}
		resp, err := noRedirects().PostForm(srv.URL+"/u/"+tok, form)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		events := q.On(queue.TrackingEvents)
		if resp.StatusCode != 200 || resp.Header.Get("Location") != "" || len(events) == 0 {
			t.Fatalf("POST (one-click %v): %d, %d queued", oneClick, resp.StatusCode, len(events))
		}
		m, err := task.Decode[task.Events](events[len(events)-1].Body)
		if err != nil || len(m.Events) != 1 || m.Events[0].Kind != tracking.Unsubscribe || m.Events[0].Account != k || m.Events[0].Row != 4 || m.Events[0].OneClick != oneClick {
			t.Errorf("queued %+v %v", m, err)
		}
	}
	for _, bad := range []string{tok[:len(tok)-2], "x"} {
		if resp, _ := noRedirects().PostForm(srv.URL+"/u/"+bad, nil); resp.StatusCode != 404 {
			t.Errorf("POST %s: %d", bad, resp.StatusCode)
		}
	}
	down := unsubscribeServer(t, failingQueue{})
	if resp, _ := noRedirects().PostForm(down.URL+"/u/"+tok, nil); resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" {
		t.Errorf("queue down: %d", resp.StatusCode)
	}
}

// TestSuppressionsAPI: add (an import, naming the invalid entries), list,
// remove; each account sees and changes only its own list.
func TestSuppressionsAPI(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	other, _ := e.installed(t, devauth.FabrikamTenant)
	status, got := e.do(t, "POST", "/v1/suppressions", tok, `{"addresses":["Ann@Contoso.example","not an address","bob@contoso.example","a@b.example; c@d.example"]}`)
	if status != 200 || got["added"] != float64(2) || len(got["invalid"].([]any)) != 2 {
		t.Fatalf("add: %d %v", status, got)
	}
	status, got = e.do(t, "GET", "/v1/suppressions?limit=1", tok, "")
	if status != 200 || len(got["suppressions"].([]any)) != 1 || got["next"] == nil {
		t.Fatalf("page 1: %d %v", status, got)
	}
	_, page2 := e.do(t, "GET", "/v1/suppressions?limit=1&cursor="+got["next"].(string), tok, "")
	seen := map[any]bool{got["suppressions"].([]any)[0].(map[string]any)["address"]: true, page2["suppressions"].([]any)[0].(map[string]any)["address"]: true}
	if !seen["ann@contoso.example"] || !seen["bob@contoso.example"] || page2["next"] != nil {
		t.Errorf("pages: %v %v", got, page2)
	}
	if _, theirs := e.do(t, "GET", "/v1/suppressions", other, ""); len(theirs["suppressions"].([]any)) != 0 {
		t.Errorf("another account sees %v", theirs)
	}
	if status, _ := e.do(t, "DELETE", "/v1/suppressions/ann%40contoso.example", other, ""); status != 404 {
		t.Errorf("another account removes: %d", status)
	}
	if status, _ := e.do(t, "DELETE", "/v1/suppressions/ANN%40contoso.example", tok, ""); status != 204 {
		t.Errorf("remove: %d", status)
	}
	if _, after := e.do(t, "GET", "/v1/suppressions", tok, ""); len(after["suppressions"].([]any)) != 1 {
		t.Errorf("after removing: %v", after)
	}
}

// TestUnsubscribeByEmail: mail to a message's unsubscribe address
// (List-Unsubscribe's mailto), from anyone, queues the unsubscribe of the
// stored message it names, as the one-click POST does; an address no
// message was sent with is refused (403: Postmark does not retry).
func TestUnsubscribeByEmail(t *testing.T) {
	st, err := store.Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	q := &testqueue.Queue{}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	creds := config.BasicAuth{User: "postmark", Password: "inbound-secret"}
	srv := httptest.NewServer(New(Deps{Logger: logger, Store: st, Lifecycle: lifecycle.New(st, q, logger, time.Now), TrackingKeys: trackingKeys,
		PostmarkInbound: creds, InboundAddress: "campaigns@inbound.example"}))
	t.Cleanup(srv.Close)
	k := account.Key{TenantID: devauth.ContosoTenant, ObjectID: "a11ce000-0000-4000-8000-" + testenv.Name("")}
	id := trackingKeys.UnsubscribeIDs(k, trackedCampaign, 4)[0]
	if err := st.PutUnsubscribeLink(context.Background(), store.UnsubscribeLink{ID: id, Account: k, CampaignID: trackedCampaign, Row: 4,
		Keys: []string{store.SuppressionKey("u-0@example.com")}, At: time.Now()}); err != nil {
		t.Fatal(err)
	}
	post := func(hash string) int {
		t.Helper()
		payload := `{"MessageID":"` + testenv.Name("m") + `","From":"stranger@elsewhere.example","FromFull":{"Email":"stranger@elsewhere.example"},` +
			`"To":"campaigns+` + hash + `@inbound.example","MailboxHash":"` + hash + `","Subject":"unsubscribe","TextBody":"","Headers":[]}`
		req, _ := http.NewRequest("POST", srv.URL+"/hooks/postmark/inbound", strings.NewReader(payload))
		req.SetBasicAuth(creds.User, creds.Password)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	// Mail programs may change the case of the address.
	if code := post(strings.ToUpper(tracking.UnsubscribePrefix + id)); code != 200 {
		t.Fatalf("mail to the unsubscribe address: %d", code)
	}
	events := q.On(queue.TrackingEvents)
	if len(events) != 1 {
		t.Fatalf("%d queued, want 1", len(events))
	}
	m, err := task.Decode[task.Events](events[0].Body)
	if err != nil || len(m.Events) != 1 || m.Events[0].Kind != tracking.Unsubscribe || m.Events[0].Account != k || m.Events[0].CampaignID != trackedCampaign ||
		m.Events[0].Row != 4 || !m.Events[0].ByEmail {
		t.Errorf("queued %+v %v", m, err)
	}
	other := trackingKeys.UnsubscribeIDs(k, trackedCampaign, 5)[0]
	for _, bad := range []string{tracking.UnsubscribePrefix + other, tracking.UnsubscribePrefix + "abc", tracking.UnsubscribePrefix} {
		if code := post(bad); code != 403 {
			t.Errorf("mail to %s: %d, want 403", bad, code)
		}
	}
	if n := len(q.On(queue.TrackingEvents)); n != 1 {
		t.Errorf("%d queued after refused mail, want still 1", n)
	}
}

// TestUnsubscribePageNames: the page names the message's sender and,
// masked, its recipient, read from the link alone (the app here has no
// storage at all: a read would fail the request); so does the page after
// the button. A link of mail sent before links carried names still
// works, and says the same without them. A link changed by one character
// is refused.
func TestUnsubscribePageNames(t *testing.T) {
	q := &testqueue.Queue{}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewServer(New(Deps{Logger: logger, Lifecycle: lifecycle.New(nil, q, logger, time.Now), TrackingKeys: trackingKeys}))
	t.Cleanup(srv.Close)
	k := account.Key{TenantID: devauth.ContosoTenant, ObjectID: "a11ce000-0000-4000-8000-00000000a001"}
	sign := func(n tracking.Names) string {
		t.Helper()
		tok, err := trackingKeys.Sign(tracking.Target{Kind: tracking.Unsubscribe, Account: k, CampaignID: trackedCampaign, Row: 4, Names: n})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	read := func(method, tok string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/u/"+tok, strings.NewReader("List-Unsubscribe=One-Click"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := noRedirects().Do(req)
		if err != nil {
			t.Fatalf("%s /u/: %v", method, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	named := sign(tracking.NamesOf("alice@contoso.example", []*mail.Address{{Address: "jane.doe@fabrikam.example"}}, nil))
	others := sign(tracking.NamesOf("alice@contoso.example", []*mail.Address{{Address: "jane.doe@fabrikam.example"}, {Address: "joe@fabrikam.example"}}, nil))
	older := sign(tracking.Names{})
	for _, tc := range []struct {
		name, tok, method string
		want              []string
	}{
		{"page", named, "GET", []string{"Stop receiving these emails from alice@contoso.example at j•••@fabrikam.example?", `<form method="post">`}},
		{"page for several", others, "GET", []string{"from alice@contoso.example at j•••@fabrikam.example and the other addresses this email was sent to?"}},
		{"done", named, "POST", []string{"You are unsubscribed", "You will not receive further emails from alice@contoso.example at j•••@fabrikam.example through this service."}},
		{"older page", older, "GET", []string{"Stop receiving these emails from this sender?", `<form method="post">`}},
		{"older done", older, "POST", []string{"You will not receive further emails from this sender through this service."}},
	} {
		status, body := read(tc.method, tc.tok)
		if status != 200 {
			t.Errorf("%s: %d %s", tc.name, status, body)
		}
		for _, w := range tc.want {
			if !strings.Contains(body, w) {
				t.Errorf("%s: the page lacks %q:\n%s", tc.name, w, body)
			}
		}
		if strings.Contains(body, "jane.doe") {
			t.Errorf("%s: the page shows the whole address", tc.name)
		}
	}
	if events := q.On(queue.TrackingEvents); len(events) != 2 {
		t.Errorf("%d unsubscribes queued, want 2 (the two POSTs)", len(events))
	}
	// One character changed, anywhere (its top bit, which always holds
	// data): refused, naming no one.
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range named {
		bad := named[:i] + string(alphabet[strings.IndexByte(alphabet, named[i])^32]) + named[i+1:]
		for _, method := range []string{"GET", "POST"} {
			if status, body := read(method, bad); status != 404 || strings.Contains(body, "alice@") || !strings.Contains(body, "not valid") {
				t.Fatalf("%s of a link changed at %d: %d %s", method, i, status, body)
			}
		}
	}
	if events := q.On(queue.TrackingEvents); len(events) != 2 {
		t.Errorf("a changed link queued an unsubscribe (%d queued)", len(events))
	}
}
