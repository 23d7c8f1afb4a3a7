package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the checkout's top folder (this package is handler/).
const repoRoot = ".."

// TestNoBuiltExecutableTracked: build output never goes into git. A tracked
// file that starts like an executable (ELF, Mach-O, Windows PE) or a Go test
// binary fails, wherever it lies.
func TestNoBuiltExecutableTracked(t *testing.T) {
	out, err := exec.Command("git", "-C", repoRoot, "ls-files", "-z").Output()
	if err != nil {
		t.Skipf("not a git checkout: %v", err)
	}
	magics := [][]byte{
		[]byte("\x7fELF"),
		{0xcf, 0xfa, 0xed, 0xfe}, {0xce, 0xfa, 0xed, 0xfe}, {0xfe, 0xed, 0xfa, 0xcf}, {0xca, 0xfe, 0xba, 0xbe}, // Mach-O
		[]byte("MZ"), // Windows PE
	}
	files := strings.Split(strings.TrimRight(string(out), "\x00"), "\x00")
	if len(files) < 10 {
		t.Fatalf("git ls-files listed %d files; the check would see nothing", len(files))
	}
	for _, name := range files {
		f, err := os.Open(filepath.Join(repoRoot, name))
		if err != nil {
			continue // deleted in the work tree, not yet committed
		}
		head := make([]byte, 4)
		n, _ := f.Read(head)
		f.Close()
		for _, m := range magics {
			if n >= len(m) && bytes.Equal(head[:len(m)], m) {
				t.Errorf("%s is a built executable; remove it from git (git rm --cached) and list it in .gitignore", name)
			}
		}
	}
}

// TestReadmeLayoutMatchesTree: every package folder under handler/internal
// and handler/cmd is named in the README's layout table, and every handler/
// path the table names exists.
func TestReadmeLayoutMatchesTree(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, layout, ok := strings.Cut(string(readme), "\n## Layout\n")
	if !ok {
		t.Fatal("README.md has no ## Layout section")
	}
	layout, _, _ = strings.Cut(layout, "\n## ")
	var dirs []string
	for _, pattern := range []string{"internal/*", "internal/dev/*", "cmd/*"} {
		m, _ := filepath.Glob(pattern)
		for _, d := range m {
			if st, err := os.Stat(d); err == nil && st.IsDir() && !strings.HasSuffix(d, "testdata") {
				dirs = append(dirs, "handler/"+filepath.ToSlash(d))
			}
		}
	}
	if len(dirs) < 20 {
		t.Fatalf("found %d package folders; the check would see nothing", len(dirs))
	}
	for _, d := range dirs {
		name := d[strings.LastIndex(d, "/")+1:]
		if !strings.Contains(layout, "`"+d+"`") && !(strings.HasPrefix(d, "handler/internal/dev/") && strings.Contains(layout, "`"+name+"`")) {
			t.Errorf("the README's layout table does not name %s", d)
		}
	}
	for _, m := range regexp.MustCompile("`(handler/[a-z0-9_/.]+)`").FindAllStringSubmatch(layout, -1) {
		if _, err := os.Stat(filepath.Join(repoRoot, m[1])); err != nil {
			t.Errorf("the README's layout table names %s, which is not in the tree", m[1])
		}
	}
}
