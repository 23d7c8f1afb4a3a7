package app

import (
	"net/http"
	"testing"
)

// TestPageHeaders: the small HTML pages of the tracked links and the
// unsubscribe link are framed by no one and ask for https from then on,
// in the same words as the API and the web app (a browser keeps the
// last it saw).
func TestPageHeaders(t *testing.T) {
	srv, _ := trackingServer(t)
	resp, err := noRedirects().Get(srv.URL + "/v1/openapi.json")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got, want := resp.Header.Get("Strict-Transport-Security"), "max-age=31536000; includeSubDomains"; got != want {
		t.Errorf("the API: Strict-Transport-Security = %q, want %q", got, want)
	}
	for _, path := range []string{"/c/not-a-token", "/u/not-a-token"} {
		resp, err := noRedirects().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		h := resp.Header
		if resp.StatusCode != http.StatusNotFound || h.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Fatalf("%s: %d %s, want the page of a link not found", path, resp.StatusCode, h.Get("Content-Type"))
		}
		if got, want := h.Get("Strict-Transport-Security"), "max-age=31536000; includeSubDomains"; got != want {
			t.Errorf("%s: Strict-Transport-Security = %q, want %q", path, got, want)
		}
		if got, want := h.Get("Content-Security-Policy"), "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"; got != want {
			t.Errorf("%s: Content-Security-Policy = %q, want %q", path, got, want)
		}
	}
}
