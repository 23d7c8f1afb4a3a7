package web

import (
	"crypto/sha1"
	_ "embed"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
)

//go:embed manifest.xml.tmpl
var manifestTemplate string

// AddinVersion is the manifest's version: raise it when the manifest
// changes, as Office and the store require.
const AddinVersion = "1.0.0.0"

func xmlEscape(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// addinID is the add-in's id: a UUID (version 5, SHA-1) of the deployment's
// base URL and client id, so each deployment has its own, and keeps it.
func addinID(base, clientID string) string {
	h := sha1.Sum([]byte("mail-merge-outlook-addin\x00" + base + "\x00" + clientID))
	h[6] = h[6]&0x0f | 0x50
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// manifestBase is the deployment's base URL (https://host, no path) and
// its host.
func manifestBase(raw string) (base, host string, err error) {
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return "", "", fmt.Errorf("web: the public base URL %q is not a scheme and host", raw)
	}
	return u.Scheme + "://" + u.Host, u.Host, nil
}

// manifest renders the Outlook add-in manifest for the deployment at
// c.BaseURL, with the icons' hashed URLs; every value is XML-escaped.
func (s *built) manifest(c Config) ([]byte, error) {
	base, host, err := manifestBase(c.BaseURL)
	if err != nil {
		return nil, err
	}
	values := map[string]string{".ID": addinID(base, c.ClientID), ".Version": AddinVersion, ".Base": xmlEscape(base), ".Host": xmlEscape(host),
		".Authority": xmlEscape(origin(c.Authority)), ".ClientID": xmlEscape(c.ClientID)}
	m, err := fill("manifest.xml.tmpl", manifestTemplate, func(action string) (string, error) {
		if v, ok := values[action]; ok {
			return v, nil
		}
		if size, ok := strings.CutPrefix(action, ".Icon "); ok {
			p, ok := s.urls["addin/icon-"+strings.TrimSpace(size)+".png"]
			if !ok {
				return "", fmt.Errorf("no add-in icon of %s px", size)
			}
			return xmlEscape(base + p), nil
		}
		return "", fmt.Errorf("{{%s}} is none of the manifest's values", action)
	})
	if err != nil {
		return nil, err
	}
	return []byte(m), nil
}
