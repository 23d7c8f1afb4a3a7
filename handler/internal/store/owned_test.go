package store

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/dev/testenv"
)

// named returns every table and container the code and the infrastructure
// name: the table name constants of this package, its Container
// constants, and the lists of infra/modules/storage.bicep.
func named(t *testing.T) (tables, containers []string) {
	t.Helper()
	constant := regexp.MustCompile(`(?m)^\s*(table|Container)[A-Z]\w*\s*=\s*"([a-z0-9]+)"`)
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range constant.FindAllStringSubmatch(string(src), -1) {
			if m[1] == "table" {
				tables = append(tables, m[2])
			} else {
				containers = append(containers, m[2])
			}
		}
	}
	bicep, err := os.ReadFile("../../../infra/modules/storage.bicep")
	if err != nil {
		t.Fatal(err)
	}
	list := func(name string) []string {
		m := regexp.MustCompile(`(?s)var ` + name + ` = \[(.*?)\]`).FindStringSubmatch(string(bicep))
		if m == nil {
			t.Fatalf("storage.bicep has no %s list", name)
		}
		return regexp.MustCompile(`'([a-z0-9]+)'`).FindAllString(m[1], -1)
	}
	for _, n := range list("tableNames") {
		tables = append(tables, strings.Trim(n, "'"))
	}
	for _, n := range list("containerNames") {
		containers = append(containers, strings.Trim(n, "'"))
	}
	if len(tables) < 8 || len(containers) < 4 {
		t.Fatalf("found only tables %v and containers %v", tables, containers)
	}
	slices.Sort(tables)
	slices.Sort(containers)
	return slices.Compact(tables), slices.Compact(containers)
}

// TestEverythingKeptIsListed fails when a table or container is added (to
// the code or to the infrastructure) without saying, in AccountHoldings,
// CampaignHoldings or Unowned, whose data it holds: deletion and export
// rely on that list being whole.
func TestEverythingKeptIsListed(t *testing.T) {
	k := account.Key{TenantID: "t", ObjectID: "o"}
	held := map[string]bool{}
	for _, h := range append(AccountHoldings(k), CampaignHoldings(Campaign{Account: k, ID: "c", AddressHash: "h"})...) {
		if h.What == "" || h.Keep == "" {
			t.Errorf("a holding of %s%s does not say what it keeps, or until when", h.Table, h.Container)
		}
		switch h.Where {
		case Entity, Partition:
			if h.Table == "" || h.Container != "" {
				t.Errorf("table holding %+v", h)
			}
			held["table:"+h.Table] = true
		case Blob, Blobs:
			if h.Container == "" || h.Table != "" || !strings.HasPrefix(h.Name, k.String()) {
				t.Errorf("blob holding %+v: not under the account's name", h)
			}
			held["container:"+h.Container] = true
		}
	}
	tables, containers := named(t)
	for _, kind := range []struct {
		prefix string
		names  []string
	}{{"table:", tables}, {"container:", containers}} {
		for _, n := range kind.names {
			key := kind.prefix + n
			if !held[key] && Unowned[key] == "" {
				t.Errorf("%s is neither in AccountHoldings, CampaignHoldings nor Unowned: say whose data it keeps", key)
			}
			if held[key] && Unowned[key] != "" {
				t.Errorf("%s is both held and unowned", key)
			}
		}
	}
	for key := range held {
		n := strings.SplitN(key, ":", 2)
		if !slices.Contains(tables, n[1]) && !slices.Contains(containers, n[1]) {
			t.Errorf("holding %s names a table or container that nothing creates", key)
		}
	}
	// The owning rows come last: an interrupted deletion finds the rest from them.
	if hs := CampaignHoldings(Campaign{Account: k, ID: "c"}); hs[len(hs)-1].Table != tableCampaigns {
		t.Errorf("the campaign row is not removed last")
	}
	if hs := AccountHoldings(k); hs[len(hs)-1].Table != tableAccounts {
		t.Errorf("the account row is not removed last")
	}
}

var update = flag.Bool("update", false, "rewrite the generated part of docs/data.md")

// TestDataDocument: docs/data.md lists the holdings as the code has them
// (go test -update rewrites that part of the document).
func TestDataDocument(t *testing.T) {
	testenv.Generated(t, "../../../docs/data.md", "<!-- holdings: generated from handler/internal/store/owned.go -->",
		"<!-- end holdings -->", HoldingsMarkdown(), *update)
}

// TestWhatWeKeepSpeaksPlainly: what the privacy page says is kept, and for
// how long, is in plain words: no setting names, no storage terms.
func TestWhatWeKeepSpeaksPlainly(t *testing.T) {
	k := account.Key{TenantID: "t", ObjectID: "o"}
	var texts []string
	for _, h := range append(AccountHoldings(k), CampaignHoldings(Campaign{Account: k, ID: "c", AddressHash: "h"})...) {
		texts = append(texts, h.What, h.Keep)
	}
	for _, e := range backup.Elsewhere() {
		texts = append(texts, e.What, e.Kept)
	}
	codeWords := []string{"tombstone", "hash", "partition", "entity", "entities", "blob", "timer", "debug", "retention",
		"user agent", "_", "owner", "table", "token", "container", "queue", "etag"}
	for _, text := range texts {
		for _, w := range codeWords {
			if strings.Contains(strings.ToLower(text), w) {
				t.Errorf("%q says %q", text, w)
			}
		}
	}
}
