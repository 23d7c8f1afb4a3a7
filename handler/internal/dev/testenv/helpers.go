package testenv

import (
	"os"
	"strings"
	"testing"
)

// Generated checks that the part of the document at path between the
// lines start and end is body, the document's generated part; with
// update it rewrites that part instead.
func Generated(tb testing.TB, path, start, end, body string, update bool) {
	tb.Helper()
	doc, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	i, j := strings.Index(string(doc), start), strings.Index(string(doc), end)
	if i < 0 || j < i {
		tb.Fatalf("%s has no %s … %s", path, start, end)
	}
	got := string(doc[:i+len(start)]) + "\n" + body + string(doc[j:])
	if got == string(doc) {
		return
	}
	if update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	tb.Errorf("%s: the part after %s is not what the code says; run the test with -update", path, start)
}
