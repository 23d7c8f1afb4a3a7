package web

import (
	"io/fs"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestAPIPathsNamedOnce: every API path the web app calls is named in one
// module each (static/api/): a page or a component that wrote its own
// would drift from them.
func TestAPIPathsNamedOnce(t *testing.T) {
	path := regexp.MustCompile("[\"'`]/v1/")
	read := 0
	err := fs.WalkDir(static, "static", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(name) != ".js" {
			return err
		}
		if strings.HasPrefix(name, "static/api/") || strings.HasPrefix(name, "static/vendor/") {
			return nil
		}
		read++
		raw, err := fs.ReadFile(static, name)
		if err != nil {
			return err
		}
		for i, line := range strings.Split(string(raw), "\n") {
			if path.MatchString(line) && !strings.HasPrefix(strings.TrimSpace(line), "//") {
				t.Errorf("%s:%d names an API path; call it through static/api/: %s", name, i+1, strings.TrimSpace(line))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if read < 10 {
		t.Fatalf("only %d scripts read: the scan has lost its files", read)
	}
}
