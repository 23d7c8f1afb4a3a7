package web

import (
	"encoding/xml"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestAddinManifest validates the Outlook add-in's manifest offline
// against Microsoft's XSD schemas (testdata/addin-manifest-xsd), checks
// that it names the deployment's own host everywhere, and that the
// function app serves it; a manifest broken in ways the schema knows is
// refused, so the check can fail.
func TestAddinManifest(t *testing.T) {
	xmllint, err := exec.LookPath("xmllint")
	if err != nil {
		t.Fatal("no xmllint: install Debian's libxml2-utils (.ci/run does)")
	}
	s, err := New(Config{ClientID: "11111111-2222-4333-8444-555555555555", Authority: "https://login.microsoftonline.com/", BaseURL: "https://mm-contoso.azurewebsites.net"})
	if err != nil {
		t.Fatal(err)
	}
	m, err := s.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	validate := func(name string, doc []byte) (string, error) {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, doc, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(xmllint, "--nonet", "--noout", "--schema", filepath.Join("testdata", "addin-manifest-xsd", "OfficeAppManifestV1_1.xsd"), p).CombinedOutput()
		return string(out), err
	}
	if out, err := validate("manifest.xml", m); err != nil {
		t.Fatalf("the manifest does not validate: %v\n%s\n%s", err, out, m)
	}
	for what, broken := range map[string][]byte{
		"a version with letters":      []byte(strings.Replace(string(m), "<Version>1.0.0.0</Version>", "<Version>one</Version>", 1)),
		"an unknown action":           []byte(strings.Replace(string(m), `xsi:type="ShowTaskpane"`, `xsi:type="OpenWindow"`, 1)),
		"an SSO id that is no GUID":   []byte(strings.Replace(string(m), "<Id>11111111-2222-4333-8444-555555555555</Id>", "<Id>mail-merge</Id>", 1)),
		"an unknown element in V1_1":  []byte(strings.Replace(string(m), "<Resources>", "<Extra/><Resources>", 1)),
		"a compose surface misspelt":  []byte(strings.Replace(string(m), "MessageComposeCommandSurface", "MessageComposeSurface", 1)),
		"permissions beyond the enum": []byte(strings.Replace(string(m), "<Permissions>ReadWriteItem</Permissions>", "<Permissions>Everything</Permissions>", 1)),
	} {
		if string(broken) == string(m) {
			t.Fatalf("%s: the manifest did not change", what)
		}
		if _, err := validate("broken.xml", broken); err == nil {
			t.Errorf("a manifest with %s validates", what)
		}
	}

	// Every URL is the deployment's, over https, and each one it serves.
	var doc struct {
		ID         string `xml:"Id"`
		SourceURLs []struct {
			Value string `xml:"DefaultValue,attr"`
		} `xml:"FormSettings>Form>DesktopSettings>SourceLocation"`
	}
	if err := xml.Unmarshal(m, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.ID) != 36 || doc.ID[14] != '5' {
		t.Errorf("add-in id %q is not a version 5 UUID", doc.ID)
	}
	for _, u := range strings.Fields(strings.NewReplacer(`"`, " ", "<", " ", ">", " ").Replace(string(m))) {
		if strings.HasPrefix(u, "http") && !strings.HasPrefix(u, "http://schemas.microsoft.com/") && !strings.HasPrefix(u, "http://www.w3.org/") &&
			!strings.HasPrefix(u, "https://mm-contoso.azurewebsites.net/") && u != "https://mm-contoso.azurewebsites.net" && u != "https://login.microsoftonline.com" {
			t.Errorf("the manifest names %s", u)
		}
	}
	if !strings.Contains(string(m), "<Resource>api://mm-contoso.azurewebsites.net/11111111-2222-4333-8444-555555555555</Resource>") {
		t.Errorf("WebApplicationInfo's resource is not the app's")
	}
	srv := newSite(t)
	resp, err := http.Get(srv.URL + "/addin/manifest.xml")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/xml") {
		t.Errorf("GET /addin/manifest.xml: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	// The manifest's files: the task pane and the icons.
	for _, path := range []string{"/addin/taskpane", "/addin/dialog"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: %d", path, resp.StatusCode)
		}
	}
	for _, size := range []string{"16", "32", "64", "80", "128"} {
		u := s.URL("addin/icon-" + size + ".png")
		if u == "" || !strings.Contains(string(m), `"https://mm-contoso.azurewebsites.net`+u+`"`) {
			t.Errorf("icon of %s px: %q not in the manifest", size, u)
		}
		checkAsset(t, srv.URL+u)
	}
}
