package merge

import (
	"html"
	"strings"

	"mailmerge/handler/internal/account"
)

// Linker makes the tracked URLs of a row's message (tracking.Links).
type Linker interface {
	Unsubscribe(k account.Key, campaignID string, row int) string
	Click(campaignID string, row, link int, target string) string
	Open(campaignID string, row int) string
}

// Tracked are the render options of a row's message: its unsubscribe
// link always; with clicks tracked, its links through the click URL (not
// the unsubscribe link, not a link that shows a URL: rewritten, it would
// look like phishing); with opens tracked, the pixel before </body>.
// Without tracking the HTML is exactly the template's.
func (t *Template) Tracked(l Linker, k account.Key, campaignID string, row int, opens, clicks bool) RenderOptions {
	o := RenderOptions{Unsubscribe: l.Unsubscribe(k, campaignID, row)}
	if clicks {
		links := t.Links()
		o.LinkRewriter = func(i int, u string) string {
			if i < 0 || i >= len(links) || links[i].Unsubscribe || links[i].TextIsURL {
				return u
			}
			return l.Click(campaignID, row, i, strings.TrimSpace(u))
		}
	}
	if opens {
		if src := l.Open(campaignID, row); src != "" {
			o.BeforeBodyEnd = `<img src="` + html.EscapeString(src) + `" width="1" height="1" alt="" style="display:block;width:1px;height:1px;border:0">`
		}
	}
	return o
}
