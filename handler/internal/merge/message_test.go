package merge

import (
	"slices"
	"strings"
	"testing"
)

func TestBuildMessage(t *testing.T) {
	cols := []string{"Email", "CC", "First name", "Attachments"}
	tpl, err := Compile(Source{Subject: "Hi {{First name}}", HTML: "<p>Dear {{First name | friend}}</p>", Text: "Dear {{First name}}"}, cols)
	if err != nil {
		t.Fatal(err)
	}
	f := Fields{To: 0, CC: 1, BCC: -1, Attachments: 3}
	files := []Attachment{{Name: "Offer.pdf"}, {Name: "logo.png", ContentID: "logo@01"}, {Name: "Terms.pdf"}}
	var out Rendered
	tests := []struct {
		cells   []string
		to, cc  int
		attach  []int
		wantErr string
	}{
		{[]string{"ann@example.com", "", "Ann", "offer.pdf"}, 1, 0, []int{1, 0}, ""},
		{[]string{"ann@example.com; bo@example.com", "boss@example.com", "Ann", " Terms.pdf ; Offer.pdf"}, 2, 1, []int{1, 2, 0}, ""},
		{[]string{"ann@example.com", "", "Ann", ""}, 1, 0, []int{1}, ""},
		{[]string{"ann@example.com", "", "Ann", "price list.xlsx"}, 0, 0, nil, `attachment "price list.xlsx" is not attached to the template email (attached: "Offer.pdf", "Terms.pdf")`},
		{[]string{"ann@example.com", "not-an-address", "Ann", ""}, 0, 0, nil, "CC:"},
		{[]string{"", "", "Ann", ""}, 0, 0, nil, "no recipient"},
	}
	for _, tt := range tests {
		m, err := tpl.Build(tt.cells, f, files, RenderOptions{}, &out)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("%v: got %v, want %q", tt.cells, err, tt.wantErr)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%v: %v", tt.cells, err)
		}
		if len(m.To) != tt.to || len(m.CC) != tt.cc || !slices.Equal(m.Attachments, tt.attach) {
			t.Errorf("%v: to %d cc %d attachments %v; want %d %d %v", tt.cells, len(m.To), len(m.CC), m.Attachments, tt.to, tt.cc, tt.attach)
		}
		if m.Subject != "Hi Ann" || string(m.HTML) != "<p>Dear Ann</p>" {
			t.Errorf("rendered %q %q", m.Subject, m.HTML)
		}
	}
	// Without an Attachments column every attachment goes.
	all, err := ResolveAttachments([]string{"x"}, Fields{Attachments: -1}, files)
	if err != nil || len(all) != 3 {
		t.Errorf("without the column: %v %v", all, err)
	}
}
