package web

import (
	"bytes"
	"crypto/sha1"
	_ "embed"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
	"text/template"
)

//go:embed manifest.xml.tmpl
var manifestTemplate string

// AddinVersion is the manifest's version: raise it when the manifest
// changes, as Office and the store require.
const AddinVersion = "1.0.0.0"

// manifestData fills the manifest's template; every value is XML-escaped.
type manifestData struct {
	ID, Version, Base, Host, Authority, ClientID string
	icon                                         func(size int) string
}

func (m manifestData) Icon(size int) string { return m.icon(size) }

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

// manifest renders the Outlook add-in manifest for the deployment at base
// (https://host, no path), with the icons' hashed URLs.
func (s *Site) manifest(c Config) ([]byte, error) {
	u, err := url.Parse(strings.TrimRight(c.BaseURL, "/"))
	if err != nil || u.Host == "" || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("web: the public base URL %q is not a scheme and host", c.BaseURL)
	}
	base := u.Scheme + "://" + u.Host
	var missing error
	d := manifestData{
		ID: addinID(base, c.ClientID), Version: AddinVersion, Base: xmlEscape(base), Host: xmlEscape(u.Host),
		Authority: xmlEscape(origin(c.Authority)), ClientID: xmlEscape(c.ClientID),
		icon: func(size int) string {
			p, ok := s.urls[fmt.Sprintf("addin/icon-%d.png", size)]
			if !ok {
				missing = fmt.Errorf("web: no add-in icon of %d px", size)
			}
			return xmlEscape(base + p)
		},
	}
	t, err := template.New("manifest").Parse(manifestTemplate)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	if err := t.Execute(&b, d); err != nil {
		return nil, err
	}
	return b.Bytes(), missing
}
