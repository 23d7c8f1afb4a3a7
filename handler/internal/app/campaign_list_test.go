package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/queue"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/task"
)

// setStatus puts a campaign in a state, as the workers would have.
func (e *env) setStatus(t *testing.T, k account.Key, id string, s campaign.Status, data campaign.DataStatus) {
	t.Helper()
	_, err := e.store.ModifyCampaign(context.Background(), k, id, func(c *store.Campaign) error {
		c.Status = s
		if data != "" {
			c.Data = store.DataSummary{Status: data, FileName: "people.csv", Format: "csv", Columns: []string{"Email"}, Rows: 3, ValidRows: 2}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// names lists every page of GET /v1/campaigns?query, two at a time, by name.
func (e *env) names(t *testing.T, tok, query string) string {
	t.Helper()
	var names []string
	cursor := ""
	for range 10 {
		q := query + "&limit=2"
		if cursor != "" {
			q += "&cursor=" + url.QueryEscape(cursor)
		}
		status, list := e.do(t, "GET", "/v1/campaigns?"+q, tok, "")
		if status != http.StatusOK {
			t.Fatalf("%s: %d %v", q, status, list)
		}
		for _, c := range list["campaigns"].([]any) {
			names = append(names, c.(map[string]any)["name"].(string))
		}
		next, _ := list["next"].(string)
		if cursor = next; cursor == "" {
			return strings.Join(names, ", ")
		}
	}
	t.Fatalf("%s: the pages never end", query)
	return ""
}

// TestListCampaignsSearchFilterSort: the list searches names (any case and
// accents), keeps the states asked for, sorts by date or name, pages in
// each, and says plainly what it cannot take.
func TestListCampaignsSearchFilterSort(t *testing.T) {
	e := newEnv(t)
	tok, u := e.installed(t, devauth.ContosoTenant)
	k := account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID}
	ids := map[string]string{}
	// Made oldest first.
	for _, n := range []string{"Spring news", "Été 2027", "autumn NEWS", "Winter sale"} {
		ids[n] = e.createCampaign(t, tok, `{"name":"`+n+`"}`)["id"].(string)
		time.Sleep(2 * time.Millisecond) // ids order by the millisecond
	}
	e.setStatus(t, k, ids["Spring news"], campaign.Completed, campaign.DataReady)
	e.setStatus(t, k, ids["Winter sale"], campaign.Sending, campaign.DataReady)
	// Another account's campaign never shows.
	otherTok, _ := e.installed(t, devauth.ContosoTenant)
	e.createCampaign(t, otherTok, `{"name":"Spring news too"}`)

	for query, want := range map[string]string{
		"":                                     "Winter sale, autumn NEWS, Été 2027, Spring news",
		"sort=-created":                        "Winter sale, autumn NEWS, Été 2027, Spring news",
		"sort=created":                         "Spring news, Été 2027, autumn NEWS, Winter sale",
		"sort=name":                            "autumn NEWS, Été 2027, Spring news, Winter sale",
		"sort=-name":                           "Winter sale, Spring news, Été 2027, autumn NEWS",
		"q=news":                               "autumn NEWS, Spring news",
		"q=+News+&sort=name":                   "autumn NEWS, Spring news",
		"q=ETE":                                "Été 2027",
		"q=%C3%A9t%C3%A9":                      "Été 2027",
		"q=nothing":                            "",
		"status=completed":                     "Spring news",
		"status=completed,sending":             "Winter sale, Spring news",
		"status=completed&status=sending":      "Winter sale, Spring news",
		"status=draft&sort=name":               "autumn NEWS, Été 2027",
		"status=draft,completed&q=news":        "autumn NEWS, Spring news",
		"status=sending,paused&sort=created":   "Winter sale",
		"status=cancelled":                     "",
		"status=draft&q=news&sort=-name":       "autumn NEWS",
		"q=s&status=completed,draft&sort=name": "autumn NEWS, Spring news",
	} {
		if got := e.names(t, tok, query); got != want {
			t.Errorf("%q: got %q, want %q", query, got, want)
		}
	}

	for query, code := range map[string]string{
		"status=sent":                   "status_invalid",
		"status=draft,Ready":            "status_invalid",
		"sort=date":                     "sort_invalid",
		"sort=+name":                    "sort_invalid",
		"q=" + strings.Repeat("x", 201): "q_invalid",
	} {
		status, body := e.do(t, "GET", "/v1/campaigns?"+query, tok, "")
		if status != http.StatusBadRequest || testenv.ErrorCode(body) != code {
			t.Errorf("%.40s: %d %v, want 400 %s", query, status, body, code)
		}
	}
	// The refusal of an unknown state names the states there are.
	_, body := e.do(t, "GET", "/v1/campaigns?status=sent", tok, "")
	msg := body["error"].(map[string]any)["message"].(string)
	for _, s := range campaign.Statuses {
		if !strings.Contains(msg, string(s)) {
			t.Errorf("the refusal %q does not name %s", msg, s)
		}
	}
	// A cursor belongs to its order.
	_, first := e.do(t, "GET", "/v1/campaigns?sort=name&limit=1", tok, "")
	if status, body := e.do(t, "GET", "/v1/campaigns?limit=1&cursor="+url.QueryEscape(first["next"].(string)), tok, ""); status != 400 || testenv.ErrorCode(body) != "cursor_invalid" {
		t.Errorf("a name cursor for the date order: %d %v", status, body)
	}
}

// TestCopyCampaign: a copy is a new draft with the campaign's options, a
// name and an address of its own, and its rows handed to the data worker
// to copy; a campaign without usable rows gives a copy without rows.
func TestCopyCampaign(t *testing.T) {
	e := newEnv(t)
	tok, u := e.installed(t, devauth.ContosoTenant)
	k := account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID}
	startAt := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second).Format(time.RFC3339)
	src := e.createCampaign(t, tok, `{"name":"Launch","trackOpens":true,"trackClicks":false,"start":"review","startAt":"`+startAt+`",
		"window":{"days":["mon","tue"],"from":"09:00","to":"17:00","timeZone":"Europe/Paris"}}`)
	id := src["id"].(string)
	e.setStatus(t, k, id, campaign.Completed, campaign.DataReady)
	e.queue.Reset()

	status, c := e.do(t, "POST", "/v1/campaigns/"+id+"/copy", tok, "")
	if status != http.StatusCreated {
		t.Fatalf("copy: %d %v", status, c)
	}
	copyID, _ := c["id"].(string)
	if copyID == "" || copyID == id || c["name"] != "Launch (copy)" || c["status"] != "draft" {
		t.Errorf("copy: %v", c)
	}
	for _, opt := range []string{"trackOpens", "trackClicks", "start", "startAt", "window"} {
		a, _ := json.Marshal(src[opt])
		b, _ := json.Marshal(c[opt])
		if string(a) != string(b) {
			t.Errorf("copy's %s is %s, the campaign's %s", opt, b, a)
		}
	}
	if d := c["data"].(map[string]any); d["status"] != "processing" || d["fileName"] != "people.csv" {
		t.Errorf("copy's data: %v", d)
	}
	addr, _ := c["inboundAddress"].(string)
	if addr == "" || addr == src["inboundAddress"] {
		t.Errorf("copy's address %q (the campaign's %q)", addr, src["inboundAddress"])
	}
	token := strings.TrimPrefix(strings.Split(addr, "@")[0], "campaigns+")
	if a, err := e.store.LookupAddress(context.Background(), HashAddressToken(token)); err != nil || a.CampaignID != copyID {
		t.Errorf("the copy's address leads to %+v %v", a, err)
	}
	msgs := e.queue.On(queue.CampaignData)
	var d task.Data
	if len(msgs) != 1 || json.Unmarshal(msgs[0].Body, &d) != nil || d.CampaignID != copyID || d.From != id || d.UploadID == "" {
		t.Fatalf("data tasks: %d %+v", len(msgs), d)
	}
	stored, err := e.store.Campaign(context.Background(), k, copyID)
	if err != nil || stored.Data.UploadID != d.UploadID || stored.Status != campaign.Draft {
		t.Errorf("stored copy: %+v %v", stored, err)
	}
	// The campaign copied is as it was.
	if _, got := e.do(t, "GET", "/v1/campaigns/"+id, tok, ""); got["status"] != "completed" || got["name"] != "Launch" {
		t.Errorf("the campaign after its copy: %v", got)
	}

	// A copy of the copy, named; a draft without rows gives a copy
	// without rows and no work for the data worker.
	if status, c := e.do(t, "POST", "/v1/campaigns/"+copyID+"/copy", tok, `{"name":"  Launch, again "}`); status != 201 || c["name"] != "Launch, again" {
		t.Errorf("a named copy: %d %v", status, c)
	}
	e.queue.Reset()
	empty := e.createCampaign(t, tok, `{"name":"`+strings.Repeat("n", 200)+`"}`)["id"].(string)
	status, c = e.do(t, "POST", "/v1/campaigns/"+empty+"/copy", tok, "{}")
	if status != 201 || c["data"].(map[string]any)["status"] != "none" || c["name"] != strings.Repeat("n", 193)+" (copy)" {
		t.Errorf("copy without rows: %d %v", status, c)
	}
	if n := len(e.queue.On(queue.CampaignData)); n != 0 {
		t.Errorf("%d data tasks for a copy without rows", n)
	}
	for body, code := range map[string]string{`{"name":""}`: "name_invalid", `{"status":"ready"}`: "body_invalid", `[`: "body_invalid"} {
		if status, got := e.do(t, "POST", "/v1/campaigns/"+id+"/copy", tok, body); status != 400 || testenv.ErrorCode(got) != code {
			t.Errorf("copy with %s: %d %v, want 400 %s", body, status, got, code)
		}
	}
	if status, got := e.do(t, "POST", "/v1/campaigns/nosuch/copy", tok, ""); status != 404 || testenv.ErrorCode(got) != "campaign_not_found" {
		t.Errorf("copy of nothing: %d %v", status, got)
	}
}

// TestTrackingChangesUntilTheEmailArrives: tracking switches change while
// the campaign waits for its email, and are refused in plain words after;
// a name changes any time.
func TestTrackingChangesUntilTheEmailArrives(t *testing.T) {
	e := newEnv(t)
	tok, u := e.installed(t, devauth.ContosoTenant)
	k := account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID}
	id := e.createCampaign(t, tok, `{"name":"Tracked"}`)["id"].(string)
	e.setStatus(t, k, id, campaign.Ready, campaign.DataReady)
	if status, c := e.do(t, "PATCH", "/v1/campaigns/"+id, tok, `{"trackOpens":true,"trackClicks":true}`); status != 200 || c["trackOpens"] != true || c["trackClicks"] != true {
		t.Errorf("tracking while ready: %d %v", status, c)
	}
	for _, s := range []campaign.Status{campaign.Review, campaign.Sending, campaign.Completed} {
		e.setStatus(t, k, id, s, "")
		status, body := e.do(t, "PATCH", "/v1/campaigns/"+id, tok, `{"trackClicks":false}`)
		if status != http.StatusConflict || testenv.ErrorCode(body) != "campaign_started" {
			t.Errorf("tracking while %s: %d %v, want 409", s, status, body)
			continue
		}
		if msg := body["error"].(map[string]any)["message"].(string); strings.Contains(msg, string(s)) || !strings.Contains(msg, "copy the campaign") {
			t.Errorf("tracking while %s refused as %q", s, msg)
		}
		if status, c := e.do(t, "PATCH", "/v1/campaigns/"+id, tok, `{"name":"Tracked, `+string(s)+`"}`); status != 200 || c["name"] != "Tracked, "+string(s) || c["trackClicks"] != true {
			t.Errorf("rename while %s: %d %v", s, status, c)
		}
	}
}
