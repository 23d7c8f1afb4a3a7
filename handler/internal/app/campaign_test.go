package app

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/dev/devauth"
	"mailmerge/handler/internal/dev/testenv"
	"mailmerge/handler/internal/store"
)

// installed returns a token for a fresh user whose account exists.
func (e *env) installed(t testing.TB, tenant string) (string, devauth.User) {
	t.Helper()
	u := freshUser(tenant)
	tok := e.token(t, u)
	if status, body := e.do(t, "POST", "/v1/install", tok, ""); status != http.StatusCreated {
		t.Fatalf("install: %d %v", status, body)
	}
	return tok, u
}

func (e *env) createCampaign(t testing.TB, tok, body string) map[string]any {
	t.Helper()
	status, c := e.do(t, "POST", "/v1/campaigns", tok, body)
	if status != http.StatusCreated {
		t.Fatalf("create campaign: %d %v", status, c)
	}
	return c
}

func (e *env) upload(t *testing.T, tok, id, name string, data []byte) (int, map[string]any) {
	t.Helper()
	return testenv.Upload(t, e.srv.URL, tok, id, name, data)
}

func TestCreateListPatchCampaign(t *testing.T) {
	e := newEnv(t)
	tok, _ := e.installed(t, devauth.ContosoTenant)
	if tracked := e.createCampaign(t, tok, `{"name":"T","trackOpens":true,"trackClicks":true}`); tracked["trackOpens"] != true || tracked["trackClicks"] != true {
		t.Errorf("tracked campaign: %v", tracked)
	}
	first := e.createCampaign(t, tok, `{"name":"  Spring newsletter ","trackOpens":false}`)
	if first["name"] != "Spring newsletter" || first["status"] != "draft" || first["trackOpens"] != false || first["trackClicks"] != false {
		t.Errorf("created %v", first)
	}
	addr, _ := first["inboundAddress"].(string)
	if !strings.HasPrefix(addr, "campaigns+") || !strings.HasSuffix(addr, "@inbound.example.com") || len(addr) < len("campaigns+@inbound.example.com")+26 {
		t.Errorf("inbound address %q", addr)
	}
	second := e.createCampaign(t, tok, `{"name":"Autumn"}`)
	id := first["id"].(string)

	status, got := e.do(t, "GET", "/v1/campaigns/"+id, tok, "")
	if status != 200 || got["inboundAddress"] != nil || got["name"] != "Spring newsletter" {
		t.Errorf("get: %d %v (the address must not be shown again)", status, got)
	}
	status, list := e.do(t, "GET", "/v1/campaigns?limit=1", tok, "")
	items, _ := list["campaigns"].([]any)
	if status != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != second["id"] || list["next"] == nil {
		t.Fatalf("first page (newest first): %d %v", status, list)
	}
	status, list = e.do(t, "GET", "/v1/campaigns?limit=1&cursor="+list["next"].(string), tok, "")
	items, _ = list["campaigns"].([]any)
	if status != 200 || len(items) != 1 || items[0].(map[string]any)["id"] != id {
		t.Errorf("second page: %d %v", status, list)
	}
	for _, bad := range []string{"limit=0", "limit=101", "limit=x", "cursor=!!!"} {
		if status, body := e.do(t, "GET", "/v1/campaigns?"+bad, tok, ""); status != 400 {
			t.Errorf("%s: %d %v", bad, status, body)
		}
	}

	status, got = e.do(t, "PATCH", "/v1/campaigns/"+id, tok, `{"name":"Spring 2027","trackClicks":false}`)
	if status != 200 || got["name"] != "Spring 2027" || got["trackClicks"] != false || got["trackOpens"] != false {
		t.Errorf("patch: %d %v", status, got)
	}
	if status, got := e.do(t, "PATCH", "/v1/campaigns/"+id, tok, `{"trackClicks":true}`); status != 200 || got["trackClicks"] != true {
		t.Errorf("patch trackClicks on: %d %v", status, got)
	}
	for body, code := range map[string]string{`{}`: "nothing_to_change", `{"name":""}`: "name_invalid", `{"name":"` + strings.Repeat("x", 201) + `"}`: "name_invalid", `{"status":"sending"}`: "body_invalid"} {
		if status, got := e.do(t, "PATCH", "/v1/campaigns/"+id, tok, body); status != 400 || testenv.ErrorCode(got) != code {
			t.Errorf("patch %.30s: %d %v, want 400 %s", body, status, got, code)
		}
	}
	if status, got := e.do(t, "POST", "/v1/campaigns", tok, `{"trackOpens":false}`); status != 400 || testenv.ErrorCode(got) != "name_invalid" {
		t.Errorf("create without a name: %d %v", status, got)
	}

	status, got = e.do(t, "POST", "/v1/campaigns/"+id+"/address", tok, "")
	newAddr, _ := got["inboundAddress"].(string)
	if status != 200 || newAddr == "" || newAddr == addr {
		t.Errorf("new address: %d %v", status, got)
	}
	oldHash := HashAddressToken(strings.TrimPrefix(strings.Split(addr, "@")[0], "campaigns+"))
	if _, err := e.store.LookupAddress(context.Background(), oldHash); err == nil {
		t.Error("the old address still leads to the campaign")
	}
	newHash := HashAddressToken(strings.TrimPrefix(strings.Split(newAddr, "@")[0], "campaigns+"))
	if a, err := e.store.LookupAddress(context.Background(), newHash); err != nil || a.CampaignID != id {
		t.Errorf("the new address does not lead to the campaign: %+v %v", a, err)
	}
}

// TestAnotherAccountsCampaignIsNotFound tries every campaign route with
// another account's campaign id, from the same tenant and from another.
func TestAnotherAccountsCampaignIsNotFound(t *testing.T) {
	e := newEnv(t)
	aliceTok, _ := e.installed(t, devauth.ContosoTenant)
	bobTok, _ := e.installed(t, devauth.ContosoTenant)
	carolTok, _ := e.installed(t, devauth.FabrikamTenant)
	id := e.createCampaign(t, aliceTok, `{"name":"Alice's"}`)["id"].(string)
	bobsOwn := e.createCampaign(t, bobTok, `{"name":"Bob's"}`)["id"].(string)
	bodies := map[string]string{"PATCH": `{"name":"mine now"}`, "POST /v1/campaigns/{id}/data/reuse": `{"from":"` + bobsOwn + `"}`,
		"POST /v1/campaigns/{id}/preview":           `{"subject":"Hi {{Name}}","html":"<p>{{Name}}</p>"}`,
		"PATCH /v1/campaigns/{id}/recipients/{row}": `{"cells":{"Email":"x@example.com"}}`}
	for _, rt := range (&App{}).routes() {
		if !strings.Contains(rt.pattern, "{id}") {
			continue
		}
		for who, tok := range map[string]string{"bob (same tenant)": bobTok, "carol (other tenant)": carolTok} {
			path := strings.NewReplacer("{id}", id, "{row}", "2").Replace(rt.pattern)
			var status int
			var body map[string]any
			if rt.method == "PUT" {
				status, body = e.upload(t, tok, id, "list.csv", []byte("Email\nx@example.com\n"))
			} else {
				b := bodies[rt.method]
				if v, ok := bodies[rt.method+" "+rt.pattern]; ok {
					b = v
				}
				status, body = e.do(t, rt.method, path, tok, b)
			}
			if status != http.StatusNotFound || testenv.ErrorCode(body) != "campaign_not_found" {
				t.Errorf("%s %s as %s: %d %v, want 404", rt.method, rt.pattern, who, status, body)
			}
		}
	}
	// And nothing changed for Alice.
	if status, got := e.do(t, "GET", "/v1/campaigns/"+id, aliceTok, ""); status != 200 || got["name"] != "Alice's" || got["status"] != "draft" {
		t.Errorf("alice's campaign after the attempts: %d %v", status, got)
	}
	// Reusing another account's campaign is equally not found.
	if status, got := e.do(t, "POST", "/v1/campaigns/"+bobsOwn+"/data/reuse", bobTok, `{"from":"`+id+`"}`); status != 404 {
		t.Errorf("reuse from another account: %d %v", status, got)
	}
}

// TestUploadsRefusedAtOnceStoreNothing: what cannot be a spreadsheet is
// answered immediately and leaves nothing in the uploads container.
func TestUploadsRefusedAtOnceStoreNothing(t *testing.T) {
	e := newEnv(t)
	tok, u := e.installed(t, devauth.FabrikamTenant)
	id := e.createCampaign(t, tok, `{"name":"Uploads"}`)["id"].(string)
	xls := append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...)
	tests := []struct {
		name   string
		data   []byte
		status int
		code   string
	}{
		{"old.xls", xls, 415, "xls_not_supported"},
		{"empty.csv", nil, 400, "file_empty"},
		{"blank.csv", []byte("  \n\n"), 400, "file_empty"},
		{"photo.png", append([]byte("\x89PNG\r\n\x1a\n\x00\x00"), make([]byte, 100)...), 415, "format_not_supported"},
		{"big.csv", make([]byte, 10<<20+1), 413, "file_too_large"},
	}
	for _, tt := range tests {
		status, body := e.upload(t, tok, id, tt.name, tt.data)
		if status != tt.status || testenv.ErrorCode(body) != tt.code {
			t.Errorf("%s: %d %v, want %d %s", tt.name, status, body, tt.status, tt.code)
		}
	}
	names, err := e.store.ListBlobs(context.Background(), store.ContainerUploads, account.Key{TenantID: u.TenantID, ObjectID: u.ObjectID}.String()+"/")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 0 {
		t.Errorf("refused uploads left blobs: %v", names)
	}
	if len(e.queue.All()) != 0 {
		t.Errorf("refused uploads were enqueued: %d", len(e.queue.All()))
	}
	// An accepted upload is stored and handed to the worker.
	status, body := e.upload(t, tok, id, "list.csv", []byte("Email,Name\nann@example.com,Ann\n"))
	if status != http.StatusAccepted || body["status"] != "processing" || body["fileName"] != "list.csv" {
		t.Errorf("accepted upload: %d %v", status, body)
	}
	if len(e.queue.All()) != 1 || e.queue.All()[0].Queue != "campaign-data" {
		t.Errorf("enqueued %+v", e.queue.All())
	}
}
