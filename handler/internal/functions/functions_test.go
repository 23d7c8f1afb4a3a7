package functions

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite host.json and functions/*/function.json from the table")

const repoRoot = "../../.."

// TestCommittedFilesMatchTheTable is the drift test: host.json and every
// functions/<name>/function.json must be exactly what the table generates,
// and no folder may hold a function the table does not declare.
// `make functions` (or this test with -update) rewrites them.
func TestCommittedFilesMatchTheTable(t *testing.T) {
	if *update {
		if err := Write(repoRoot, "functions", ServiceBus); err != nil {
			t.Fatal(err)
		}
	}
	files, err := Files("functions", ServiceBus)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range files {
		got, err := os.ReadFile(filepath.Join(repoRoot, path))
		if err != nil {
			t.Errorf("%s: %v (run make functions)", path, err)
			continue
		}
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs from the function table (run make functions):\ngot:\n%s\nwant:\n%s", path, got, want)
		}
	}
	orphans, err := Orphans(repoRoot, "functions")
	if err != nil {
		t.Fatal(err)
	}
	if len(orphans) > 0 {
		t.Errorf("function folders not in the table: %v (run make functions)", orphans)
	}
	entries, _ := os.ReadDir(filepath.Join(repoRoot, "functions"))
	for _, e := range entries {
		if _, ok := files[filepath.Join("functions", e.Name(), "function.json")]; !ok {
			t.Errorf("functions/%s is not a function of the table", e.Name())
		}
	}
}

func TestHostJSON(t *testing.T) {
	raw, err := HostJSON()
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Version         string
		ExtensionBundle struct{ ID, Version string }
		CustomHandler   struct {
			Description struct {
				DefaultExecutablePath string
			}
			EnableForwardingHttpRequest bool
		}
		Extensions struct {
			HTTP struct {
				RoutePrefix *string
			}
		}
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatal(err)
	}
	if h.Version != "2.0" || h.ExtensionBundle.Version != "[4.*, 5.0.0)" || h.ExtensionBundle.ID != "Microsoft.Azure.Functions.ExtensionBundle" {
		t.Errorf("version/bundle wrong: %s", raw)
	}
	if !h.CustomHandler.EnableForwardingHttpRequest || h.CustomHandler.Description.DefaultExecutablePath != ExecutableName {
		t.Errorf("custom handler section wrong: %s", raw)
	}
	if h.Extensions.HTTP.RoutePrefix == nil || *h.Extensions.HTTP.RoutePrefix != "" {
		t.Errorf("routePrefix must be present and empty: %s", raw)
	}
}

func TestTransports(t *testing.T) {
	for _, f := range Table() {
		if f.Trigger != Queue {
			continue
		}
		sb, _ := FunctionJSON(f, ServiceBus)
		st, _ := FunctionJSON(f, Storage)
		if !strings.Contains(string(sb), `"serviceBusTrigger"`) || !strings.Contains(string(sb), `"ServiceBusConnection"`) {
			t.Errorf("%s production binding: %s", f.Name, sb)
		}
		if !strings.Contains(string(st), `"queueTrigger"`) || !strings.Contains(string(st), `"AzureWebJobsStorage"`) {
			t.Errorf("%s local binding: %s", f.Name, st)
		}
	}
}

func TestTableIsWellFormed(t *testing.T) {
	seen := map[string]bool{}
	for _, f := range Table() {
		if seen[strings.ToLower(f.Name)] {
			t.Errorf("function %s declared twice", f.Name)
		}
		seen[strings.ToLower(f.Name)] = true
		switch f.Trigger {
		case HTTP:
			if f.Route == "" || len(f.Methods) == 0 || strings.HasPrefix(f.Route, "/") {
				t.Errorf("%s: HTTP functions need a route without a leading slash and methods", f.Name)
			}
		case Queue:
			if f.Queue == "" {
				t.Errorf("%s: no queue", f.Name)
			}
		case Timer:
			if len(strings.Fields(f.Schedule)) != 6 {
				t.Errorf("%s: schedule %q is not six-field NCRONTAB", f.Name, f.Schedule)
			}
		default:
			t.Errorf("%s: trigger %q", f.Name, f.Trigger)
		}
	}
}

func TestWriteRemovesOrphans(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "gone"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "gone", "function.json"), []byte(`{"bindings":[]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(dir, "", Storage); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone")); !os.IsNotExist(err) {
		t.Errorf("orphan folder survived: %v", err)
	}
	for _, f := range Table() {
		if _, err := os.Stat(filepath.Join(dir, f.Name, "function.json")); err != nil {
			t.Errorf("%s not written: %v", f.Name, err)
		}
	}
}
