package app

import (
	"io"
	"mailmerge/handler/internal/web"
	"net/http"
	"strconv"
	"strings"

	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/tracking"
)

// recorder takes tracking events without making the request wait.
type recorder interface {
	Record(e tracking.Event)
}

// pixel is a transparent 1×1 GIF89a: 43 bytes.
var pixel = []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff\x21\xf9\x04\x01\x00\x00\x00\x00\x2c\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02\x44\x01\x00\x3b")

// event is the tracking event of a verified token's request, its user
// agent and URL clipped (tracking.MaxUserAgent, tracking.MaxURL).
func (a *App) event(r *http.Request, t tracking.Target) tracking.Event {
	purpose := strings.ToLower(r.Header.Get("Sec-Purpose") + " " + r.Header.Get("Purpose") + " " + r.Header.Get("X-Purpose"))
	return tracking.Event{Kind: t.Kind, CampaignID: t.CampaignID, Row: t.Row, Link: t.Link, URL: clip(t.URL, tracking.MaxURL), At: a.Now().UTC(),
		Method: r.Method, UserAgent: clip(r.UserAgent(), tracking.MaxUserAgent), Prefetch: strings.Contains(purpose, "prefetch") || strings.Contains(purpose, "preview")}
}

// clip is s cut to at most n bytes, copied when cut: a part of a string
// keeps the whole of it in memory while the event waits for the queue.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.Clone(campaign.Clip(s, n))
}

// openPixel answers the pixel, whatever the token: a valid one is
// recorded (handed to the recorder, which needs no storage to take it).
func (a *App) openPixel(w http.ResponseWriter, r *http.Request) error {
	if t, err := a.TrackingKeys.Verify(r.PathValue("token"), tracking.Open); err == nil && a.Recorder != nil {
		a.Recorder.Record(a.event(r, t))
	}
	h := w.Header()
	h.Set("Content-Type", "image/gif")
	h.Set("Content-Length", strconv.Itoa(len(pixel)))
	h.Set("Cache-Control", "no-store, no-cache, max-age=0")
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(pixel)
	}
	return nil
}

// click redirects to the URL its token carries, and only to one a valid
// token carries: anything else gets a small page and no redirect. It needs
// no storage: a click after the campaign was deleted, or while storage is
// down, still goes where it should.
func (a *App) click(w http.ResponseWriter, r *http.Request) error {
	t, err := a.TrackingKeys.Verify(r.PathValue("token"), tracking.Click)
	if err != nil {
		page(w, http.StatusNotFound, "Link not found", "This link is not valid. If you copied it from an email, check that it was copied whole.")
		return nil
	}
	if a.Recorder != nil {
		a.Recorder.Record(a.event(r, t))
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Location", t.URL)
	w.WriteHeader(http.StatusFound)
	return nil
}

// pageHead is the start of the small HTML page of the tracking and
// unsubscribe routes (no script, no image, no tracking), up to its title.
// It is written by hand, not with html/template: a binary that links a
// template executor keeps every method of every type (it calls methods by
// name through reflect): with the Graph SDK's models, the handler was 178
// MB instead of 27, and idle at 39 MB of memory instead of 15.
const pageHead = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>`

// pageStyle follows the title.
const pageStyle = `</title>
<style>body{font:16px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;padding:2rem 1rem;color:#1b1b1b;background:#fafafa}
main{max-width:32rem;margin:0 auto;background:#fff;border:1px solid #ddd;border-radius:8px;padding:1.5rem}
h1{font-size:1.4rem;margin:0 0 .75rem}button{font:inherit;padding:.6rem 1.2rem;border:0;border-radius:6px;background:#0f6cbd;color:#fff;cursor:pointer}
button:focus{outline:3px solid #1b1b1b;outline-offset:2px}</style></head>
<body><main><h1>`

// renderPage writes the page of d, every value escaped.
func renderPage(w io.Writer, d pageData) error {
	var b strings.Builder
	b.WriteString(pageHead + escapeHTML(d.Title) + pageStyle + escapeHTML(d.Title) + "</h1><p>" + escapeHTML(d.Text) + "</p>")
	if d.Action {
		b.WriteString(`<form method="post"><button type="submit">` + escapeHTML(d.Button) + "</button></form>")
	}
	b.WriteString("</main></body></html>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// escapeHTML is s escaped for HTML text, as html/template escapes it
// (the web app's own escaper: one for the whole handler).
var escapeHTML = web.EscapeHTML

type pageData struct {
	Title, Text, Button string
	Action              bool
}

// page answers a small HTML page.
func page(w http.ResponseWriter, status int, title, text string) {
	writePage(w, status, pageData{Title: title, Text: text})
}

func writePage(w http.ResponseWriter, status int, d pageData) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// The page's own inline style and a form that posts to itself; nothing else.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	w.WriteHeader(status)
	_ = renderPage(w, d)
}
