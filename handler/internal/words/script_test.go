package words

import (
	"flag"
	"os"
	"path/filepath"
	"testing"

	"mailmerge/handler/internal/campaign"
)

var update = flag.Bool("update", false, "write static/words.js from this package")

// TestScript keeps static/words.js, the web app's copy of these words, as
// written from them. After changing words.go:
//
//	go test ./handler/internal/words -run TestScript -update
func TestScript(t *testing.T) {
	path := filepath.Join("..", "web", "static", "words.js")
	want, err := Script()
	if err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("%s is not as words.go says: run go test ./handler/internal/words -run TestScript -update", path)
	}
}

// TestEveryStateNamed fails when a state has no words: a new state must be
// named here before any screen or notice can show it.
func TestEveryStateNamed(t *testing.T) {
	for _, s := range campaign.Statuses {
		if w := Campaigns[s]; w.Name == "" || w.Meaning == "" {
			t.Errorf("campaign state %q has no words", s)
		}
	}
	for _, s := range campaign.RowStatuses {
		if w := Rows[s]; w.Name == "" || w.Meaning == "" {
			t.Errorf("row state %q has no words", s)
		}
	}
	for _, s := range campaign.DataStatuses {
		if w := Data[s]; w.Name == "" || w.Meaning == "" {
			t.Errorf("data state %q has no words", s)
		}
	}
	if len(Campaigns) != len(campaign.Statuses) || len(Rows) != len(campaign.RowStatuses) || len(Data) != len(campaign.DataStatuses) {
		t.Error("words names a state the service does not have")
	}
}
