package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/store"
)

// TestAccountLifecycle goes install → me → patch → delete (through the queue
// worker) → the retention timer purging an expired debug entry, entirely
// through the local Functions host and the real invocation protocol.
func TestAccountLifecycle(t *testing.T) {
	t.Parallel()
	h := startHost(t, map[string]string{"DEBUG_LOG_RETENTION": "1s"})
	st, err := store.Open(testenv.IsolatedStorage(t))
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	alice, _ := devauth.FindUser("alice")
	bob, _ := devauth.FindUser("bob")
	aliceKey := account.Key{TenantID: alice.TenantID, ObjectID: alice.ObjectID}
	bobKey := account.Key{TenantID: bob.TenantID, ObjectID: bob.ObjectID}
	// The dev users are shared by every run on this Azurite: start clean.
	for _, k := range []account.Key{aliceKey, bobKey} {
		_ = st.DeleteAccountRow(ctx, k)
		_, _ = st.DeleteDebugEntries(ctx, k)
	}

	// A refused token writes nothing.
	status, body := h.call(t, "POST", "/v1/install", "eyJhbGciOiJub25lIn0.eyJ0aWQiOiJ4In0.", "")
	if status != http.StatusUnauthorized || testenv.ErrorCode(body) == "" {
		t.Fatalf("bad token: %d %v", status, body)
	}
	if _, err := st.Account(ctx, aliceKey); err == nil {
		t.Fatal("a refused token created an account")
	}

	tok := h.token(t, "alice")
	status, body = h.call(t, "POST", "/v1/install", tok, `{"host":"Outlook","platform":"PC","hostVersion":"16.0.18129","addinVersion":"1.0.0"}`)
	if status != http.StatusCreated {
		t.Fatalf("install: %d %v", status, body)
	}
	acct, _ := body["account"].(map[string]any)
	if acct["tenantId"] != alice.TenantID || acct["objectId"] != alice.ObjectID || acct["email"] != alice.Email {
		t.Errorf("install answered %v", body)
	}

	status, body = h.call(t, "GET", "/v1/me", tok, "")
	if status != http.StatusOK || body["displayName"] != alice.Name {
		t.Fatalf("me: %d %v", status, body)
	}

	status, body = h.call(t, "PATCH", "/v1/me", tok, `{"displayName":"Alice C.","notificationEmail":"alice.notify@contoso.example"}`)
	if status != http.StatusOK || body["displayName"] != "Alice C." || body["notificationEmail"] != "alice.notify@contoso.example" {
		t.Fatalf("patch: %d %v", status, body)
	}
	status, body = h.call(t, "GET", "/v1/me", tok, "")
	if status != http.StatusOK || body["displayName"] != "Alice C." {
		t.Fatalf("me after patch: %d %v", status, body)
	}

	// Bob's account is not touched by Alice's deletion.
	bobTok := h.token(t, "bob")
	if status, body := h.call(t, "POST", "/v1/install", bobTok, ""); status != http.StatusCreated {
		t.Fatalf("bob install: %d %v", status, body)
	}

	status, body = h.call(t, "DELETE", "/v1/me", tok, "")
	if status != http.StatusAccepted {
		t.Fatalf("delete: %d %v", status, body)
	}
	// The account-delete worker runs from the Azurite queue.
	eventually(t, 30*time.Second, "the queue worker deleted the account", func() bool {
		status, _ := h.call(t, "GET", "/v1/me", tok, "")
		return status == http.StatusNotFound
	})
	if entries, _ := st.DebugEntries(ctx, aliceKey); len(entries) != 0 {
		t.Errorf("alice's debug entries survived the deletion: %d", len(entries))
	}
	// The account row goes before the deletion record, which goes last.
	eventually(t, 10*time.Second, "the deletion record removed", func() bool {
		pending, _ := st.PendingDeletions(ctx, time.Now().Add(time.Hour))
		return !containsAccount(pending, aliceKey)
	})
	eventually(t, 10*time.Second, "the local host to log the queue invocation", func() bool {
		return strings.Contains(h.HostLog.String(), "function=account-delete trigger=queue")
	})

	// Bob's debug entry expires after 1 s; the retention timer purges it.
	entries, err := st.DebugEntries(ctx, bobKey)
	if err != nil || len(entries) != 1 {
		t.Fatalf("bob's debug entries: %d, %v", len(entries), err)
	}
	time.Sleep(time.Until(entries[0].ExpiresAt) + 100*time.Millisecond)
	h.runFunction(t, "retention", "")
	eventually(t, 30*time.Second, "the retention timer purged the expired entry", func() bool {
		entries, err := st.DebugEntries(ctx, bobKey)
		return err == nil && len(entries) == 0
	})
	if status, _ := h.call(t, "GET", "/v1/me", bobTok, ""); status != http.StatusOK {
		t.Errorf("bob's account after retention: %d", status)
	}
	eventually(t, 10*time.Second, "the local host logs the timer invocation", func() bool {
		return strings.Contains(h.HostLog.String(), "function=retention trigger=timer")
	})

	// Every handler log line carries the invocation id; none holds an address.
	out := h.Output.String()
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.Contains(line, `"msg":"request"`) && !strings.Contains(line, `"invocationId":"`) {
			t.Errorf("log line without invocation id: %s", line)
		}
	}
	for _, addr := range []string{alice.Email, bob.Email, "alice.notify@contoso.example"} {
		if strings.Contains(out, addr) {
			t.Errorf("the handler logged an address (%s)", addr)
		}
	}
}

func containsAccount(ds []store.Deletion, k account.Key) bool {
	for _, d := range ds {
		if d.Account == k {
			return true
		}
	}
	return false
}
