package e2e

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/dev/testenv"
)

const outlookUA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 Safari/537.36 Edg/128.0.0.0"

// TestTrackingAndUnsubscribe: a campaign with tracking sends messages
// whose links go through /c/ and carry the pixel and the unsubscribe
// link; through the local host a person's open and click are counted as
// such, HEAD and a forged link are not; the unsubscribe link unsubscribes
// and the next campaign skips that address; a click after the campaign is
// deleted still redirects.
func TestTrackingAndUnsubscribe(t *testing.T) {
	t.Parallel()
	h := startHost(t, nil)
	tok, _ := h.signIn(t, "alice")
	tag := testenv.Name("track")
	rows := people(tag, 2)
	id, token := h.readyCampaign(t, tok, rows)
	if status, c := h.call(t, "PATCH", "/v1/campaigns/"+id, tok, `{"trackOpens":true,"trackClicks":true}`); status != 200 || c["trackClicks"] != true {
		t.Fatalf("tracking on: %d %v", status, c)
	}
	h.sendTemplate(t, "alice", token, template{Subject: "Hi {{First name}} " + tag,
		HTML: `<html><body><p>Hi {{First name}}, see <a href="https://contoso.example/offer?c={{Company}}">our offer</a>, or https://contoso.example/ at <a href="https://contoso.example/">https://contoso.example/</a>.</p><p><a href="{{@unsubscribe}}">Unsubscribe</a></p></body></html>`})
	h.waitStatus(t, tok, id, 60*time.Second, "completed")
	msgs := h.sent(t, tag)
	if len(msgs) != 2 {
		t.Fatalf("%d messages sent", len(msgs))
	}
	body := msgs[0].Body
	local := func(kind string) []string {
		var out []string
		for _, m := range regexp.MustCompile(`http://127\.0\.0\.1:7071/`+kind+`/[A-Za-z0-9_-]+`).FindAllString(body, -1) {
			out = append(out, h.URL+strings.TrimPrefix(m, "http://127.0.0.1:7071"))
		}
		return out
	}
	clicks, opens, unsubs := local("c"), local("o"), local("u")
	if len(clicks) != 1 || len(opens) != 1 || len(unsubs) != 1 || !strings.Contains(body, `href="https://contoso.example/">https://contoso.example/</a>`) {
		t.Fatalf("tracked body: %d clicks, %d pixels, %d unsubscribe links:\n%s", len(clicks), len(opens), len(unsubs), body)
	}
	// RFC 8058's headers, as Exchange would write them from the message's
	// properties, with the same URL as the body's link.
	heads := map[string]string{}
	for _, hd := range msgs[0].MIMEHeaders {
		heads[hd.Name] = hd.Value
	}
	if !strings.HasPrefix(heads["List-Unsubscribe"], "<"+strings.Replace(unsubs[0], h.URL, "http://127.0.0.1:7071", 1)+">, <mailto:campaigns+u-") || heads["List-Unsubscribe-Post"] != "List-Unsubscribe=One-Click" {
		t.Errorf("headers %v, body link %s", heads, unsubs[0])
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	do := func(method, u string) *http.Response {
		req, _ := http.NewRequest(method, u, nil)
		req.Header.Set("User-Agent", outlookUA)
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	// A person reads later than a scanner would.
	time.Sleep(11 * time.Second)
	if resp := do("GET", opens[0]); resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/gif" {
		t.Errorf("pixel: %d", resp.StatusCode)
	}
	if resp := do("GET", clicks[0]); resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), "https://contoso.example/offer?c=Firm") {
		t.Errorf("click: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	if resp := do("HEAD", clicks[0]); resp.StatusCode != 302 {
		t.Errorf("HEAD click: %d", resp.StatusCode)
	}
	forged := clicks[0][:len(clicks[0])-6] + "AAAAAA"
	if resp := do("GET", forged); resp.StatusCode != 404 || resp.Header.Get("Location") != "" {
		t.Errorf("forged click: %d %s", resp.StatusCode, resp.Header.Get("Location"))
	}
	var rep map[string]any
	eventually(t, 30*time.Second, "the report counts the open and the clicks", func() bool {
		_, rep = h.call(t, "GET", "/v1/campaigns/"+id+"/report", tok, "")
		clicks, _ := rep["clicks"].(map[string]any)
		opens, _ := rep["opens"].(map[string]any)
		return clicks != nil && clicks["human"].(map[string]any)["total"] == float64(1) && clicks["automated"].(map[string]any)["total"] == float64(1) &&
			opens["human"].(map[string]any)["total"] == float64(1)
	})

	// Unsubscribe: the page changes nothing; the mail program's one-click does.
	if resp := do("GET", unsubs[0]); resp.StatusCode != 200 {
		t.Errorf("unsubscribe page: %d", resp.StatusCode)
	}
	resp, err := noFollow.PostForm(unsubs[0], url.Values{"List-Unsubscribe": {"One-Click"}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("one-click: %v %v", resp, err)
	}
	to := msgs[0].To[0].Address
	eventually(t, 30*time.Second, "the address is suppressed", func() bool {
		_, list := h.call(t, "GET", "/v1/suppressions", tok, "")
		for _, s := range list["suppressions"].([]any) {
			if s.(map[string]any)["address"] == strings.ToLower(to) {
				return true
			}
		}
		return false
	})
	// The next campaign to the same people skips the address.
	next := h.startCampaign(t, tok, "alice", rows, template{Subject: "Again {{First name}} " + tag + "-2", HTML: "<p>Again</p>"})
	c := h.waitStatus(t, tok, next, 60*time.Second, "completed")
	if counts := c["counts"].(map[string]any); counts["sent"] != float64(1) || counts["skipped"] != float64(1) {
		t.Errorf("next campaign counts %v", counts)
	}
	for _, r := range h.rowStates(t, tok, next) {
		if r["status"] == "skipped" && r["reason"].(map[string]any)["code"] != "unsubscribed" {
			t.Errorf("skipped row %v", r)
		}
	}
	// Deleted: the link still goes where it should.
	if status, _ := h.call(t, "DELETE", "/v1/campaigns/"+id, tok, ""); status != 202 {
		t.Fatalf("delete: %d", status)
	}
	if resp := do("GET", clicks[0]); resp.StatusCode != 302 {
		t.Errorf("click after deletion: %d", resp.StatusCode)
	}
}
