package worker

import (
	"bytes"
	"encoding/base64"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/merge"
	"mailmerge/handler/internal/store"
	"mailmerge/handler/internal/tracking"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

var goldenColumns = []string{"First Name", "last name", "Company", "Amount", "City", "Order", "Code", "Notes", "Link"}

func renderWorker(t *testing.T) *Worker {
	t.Helper()
	keys, err := tracking.ParseKeys("1:" + base64.StdEncoding.EncodeToString([]byte("golden-tracking-key-0123456789abcdef")))
	if err != nil {
		t.Fatal(err)
	}
	return &Worker{Deps: Deps{Links: tracking.Links{Base: "https://mailmerge.example", Keys: keys}}}
}

func compileFile(t *testing.T, name string) *job {
	t.Helper()
	html, err := os.ReadFile(filepath.Join("..", "merge", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	tpl, err := merge.Compile(merge.Source{Subject: "Order {{Order}}", HTML: string(html)}, goldenColumns)
	if err != nil {
		t.Fatal(err)
	}
	return &job{tpl: tpl}
}

// TestTrackedOutlookHTML renders Outlook's desktop and web HTML with
// tracking on, with real tokens, against golden files (-update rewrites
// them): links through /c/ except mailto, the unsubscribe link and links
// that show a URL; the pixel before </body>.
func TestTrackedOutlookHTML(t *testing.T) {
	w := renderWorker(t)
	row := []string{"Zoë", "O'Brien", "ACME", "€1,200", "Zürich", "A-17", "X 9/1&2", "", "https://example.com/p?id=1&x=2"}
	c := store.Campaign{Account: account.Key{TenantID: "8f0b5f36-4c8e-4d8a-9b0b-2a6f7e6d1c11", ObjectID: "a11ce000-0000-4000-8000-00000000a001"},
		ID: "vpesgnag4anvpt7rjbfeu91ho8", TrackOpens: true, TrackClicks: true}
	for _, name := range []string{"outlook_desktop.html", "outlook_web.html"} {
		j := compileFile(t, name)
		var out merge.Rendered
		j.tpl.Render(row, w.renderOptions(c, j, 12, tracking.Names{}), &out)
		golden := filepath.Join("testdata", "tracked_"+strings.TrimSuffix(name, ".html")+".golden")
		if *update {
			if err := os.WriteFile(golden, out.HTML, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out.HTML, want) {
			t.Errorf("%s differs from %s (run with -update and read the difference)", name, golden)
		}
		html := string(out.HTML)
		hasUnsub := false
		for _, l := range j.tpl.Links() {
			hasUnsub = hasUnsub || l.Unsubscribe
		}
		if strings.Count(html, "https://mailmerge.example/o/") != 1 || hasUnsub != strings.Contains(html, "https://mailmerge.example/u/") {
			t.Errorf("%s: the pixel or the unsubscribe link is not as it should be", name)
		}
		// Every tracked link is ours and verifies to a URL of the template.
		for _, m := range regexp.MustCompile(`https://mailmerge\.example/c/([A-Za-z0-9_-]+)`).FindAllStringSubmatch(html, -1) {
			tg, err := w.Links.Keys.Verify(m[1], tracking.Click)
			if err != nil || tg.Row != 12 || !strings.HasPrefix(tg.URL, "http") {
				t.Errorf("%s: token %.20s…: %+v %v", name, m[1], tg, err)
			}
			if links := j.tpl.Links(); links[tg.Link].Unsubscribe || links[tg.Link].TextIsURL {
				t.Errorf("%s: link %d was rewritten", name, tg.Link)
			}
		}
		// Growth: the links' own length plus about 100 bytes each.
		var plain merge.Rendered
		j.tpl.Render(row, merge.RenderOptions{Unsubscribe: w.Links.Unsubscribe(c.Account, c.ID, 12)}, &plain)
		grown := len(out.HTML) - len(plain.HTML)
		var limit int
		for _, l := range j.tpl.Links() {
			limit += len(l.URL) + 100
		}
		if grown > limit+200 {
			t.Errorf("%s: tracking grew the HTML by %d bytes, over the links' length plus 100 each (%d) and the pixel", name, grown, limit)
		}
	}
}

// TestUntrackedHTMLUnchanged: with tracking off, a template without an
// unsubscribe link renders byte for byte as without any options.
func TestUntrackedHTMLUnchanged(t *testing.T) {
	w := renderWorker(t)
	html := `<html><body><p>Hi {{First Name}}, <a href="https://contoso.example/a">see</a> <a href="{{Link}}">this</a>.</p></body></html>`
	tpl, err := merge.Compile(merge.Source{Subject: "s", HTML: html}, goldenColumns)
	if err != nil {
		t.Fatal(err)
	}
	j := &job{tpl: tpl}
	row := []string{"Ann", "", "", "", "", "", "", "", "https://example.com/x"}
	var plain, off merge.Rendered
	tpl.Render(row, merge.RenderOptions{}, &plain)
	tpl.Render(row, w.renderOptions(store.Campaign{ID: "vpesgnag4anvpt7rjbfeu91ho8"}, j, 2, tracking.Names{}), &off)
	if !bytes.Equal(plain.HTML, off.HTML) {
		t.Errorf("tracking off changed the HTML:\n%s\n%s", plain.HTML, off.HTML)
	}
}

// TestLinksInConditionalsAreTracked: the links of either branch of an
// {{#if}} go through /c/ like any other.
func TestLinksInConditionalsAreTracked(t *testing.T) {
	w := renderWorker(t)
	html := `<html><body><p>{{#if Company}}See <a href="https://contoso.example/firms">firms</a>.</p><p>{{else}}See <a href="https://contoso.example/people">people</a>.{{/if}}</p></body></html>`
	tpl, err := merge.Compile(merge.Source{Subject: "s", HTML: html}, goldenColumns)
	if err != nil {
		t.Fatal(err)
	}
	j := &job{tpl: tpl}
	c := store.Campaign{ID: "vpesgnag4anvpt7rjbfeu91ho8", TrackClicks: true}
	for company, want := range map[string]string{"ACME": "https://contoso.example/firms", "": "https://contoso.example/people"} {
		var out merge.Rendered
		tpl.Render([]string{"Ann", "", company}, w.renderOptions(c, j, 2, tracking.Names{}), &out)
		m := regexp.MustCompile(`https://mailmerge\.example/c/([A-Za-z0-9_-]+)`).FindStringSubmatch(string(out.HTML))
		if m == nil || strings.Contains(string(out.HTML), want) {
			t.Fatalf("company %q: not tracked: %s", company, out.HTML)
		}
		if tg, err := w.Links.Keys.Verify(m[1], tracking.Click); err != nil || tg.URL != want {
			t.Errorf("company %q: %+v %v", company, tg, err)
		}
	}
}
