package notify

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"mailmerge/handler/internal/apperr"
)

const (
	owner  = "owner@contoso.example"
	sender = "Mail Merge <notify@mailmerge.example>"
)

func TestComposeKinds(t *testing.T) {
	tests := []struct {
		kind    Kind
		counts  Counts
		subject string
		lead    string
		rows    []string // count lines expected in the text body
	}{
		{Started, Counts{Total: 1000, Pending: 1000}, `Mail merge "Spring launch" has started: sending to 1,000 recipients`,
			"Your mail merge has started.", []string{"Recipients:", "To send:"}},
		{Completed, Counts{Total: 1000, Sent: 995, Failed: 3, Skipped: 2}, `Mail merge "Spring launch": sent to 995 of 1,000 recipients`,
			"Your mail merge has finished.", []string{"Recipients:", "Sent:", "Failed:", "Skipped:"}},
		{Failed, Counts{Total: 1000, Sent: 120, Unknown: 1, Pending: 879}, `Mail merge "Spring launch" could not finish: sent to 120 of 1,000 recipients`,
			"Your mail merge stopped before it could finish.", []string{"Sent:", "Not confirmed:", "To send:"}},
		{Paused, Counts{Total: 1000, Sent: 0, Pending: 1000}, `Mail merge "Spring launch" is paused: sent to 0 of 1,000 recipients so far`,
			"Your mail merge is paused.", []string{"Recipients:", "Sent:", "To send:"}},
		{Refused, Counts{}, `Mail merge "Spring launch" was not started`,
			"Your mail merge was not started, and nothing was sent.", nil},
		{NotUsed, Counts{}, `Mail merge "Spring launch": your latest email was not used`,
			"Your mail merge had already started with an earlier email", nil},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			n := Notice{Kind: tt.kind, To: owner, CampaignID: "c-42", Campaign: "Spring launch", Subject: "Hello {{First name}}", Counts: tt.counts}
			got, err := Compose(n, sender)
			if err != nil {
				t.Fatal(err)
			}
			if got.Subject != tt.subject {
				t.Errorf("Subject = %q, want %q", got.Subject, tt.subject)
			}
			if got.From != sender || got.To != owner || got.Tag != "campaign-"+string(tt.kind) || got.MessageStream != "outbound" {
				t.Errorf("envelope = %+v", got)
			}
			for _, body := range []string{got.TextBody, got.HTMLBody} {
				if !strings.Contains(body, tt.lead) {
					t.Errorf("body lacks %q:\n%s", tt.lead, body)
				}
				if strings.Contains(body, owner) {
					t.Errorf("body contains the owner's address:\n%s", body)
				}
			}
			for _, row := range tt.rows {
				if !strings.Contains(got.TextBody, "  "+row) {
					t.Errorf("text lacks count row %q:\n%s", row, got.TextBody)
				}
			}
			if tt.counts == (Counts{}) && strings.Contains(got.TextBody, "Recipients:") {
				t.Errorf("text shows counts for a notice without any:\n%s", got.TextBody)
			}
			wantAction := tt.kind == Failed || tt.kind == Paused || tt.kind == Refused || tt.kind == NotUsed
			if has := strings.Contains(got.TextBody, "What to do: "+defaultAction); has != wantAction {
				t.Errorf("default action shown = %v, want %v", has, wantAction)
			}
		})
	}
}

func TestComposeShowsEveryField(t *testing.T) {
	n := Notice{
		Kind: Paused, To: owner, CampaignID: "c-42", Campaign: "Spring launch", Subject: "Hello {{First name}}",
		Counts:   Counts{Total: 12345, Sent: 2345, Failed: 11, Skipped: 22, Unknown: 33, Pending: 9934},
		Reason:   "Microsoft asked us to sign you in again.",
		Problems: []string{"{{Frist name}}", "price-list.pdf"},
		Action:   "Open the Mail Merge add-in in Outlook, then press Resume.",
	}
	got, err := Compose(n, sender)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"c-42", "Spring launch", "Hello {{First name}}", n.Reason, n.Problems[0], n.Problems[1], n.Action,
		"12,345", "2,345", "11", "22", "33", "9,934", "Not confirmed: Microsoft did not confirm"}
	for _, w := range want {
		if !strings.Contains(got.TextBody, w) {
			t.Errorf("text lacks %q:\n%s", w, got.TextBody)
		}
		if !strings.Contains(got.HTMLBody, escape(w)) {
			t.Errorf("HTML lacks %q:\n%s", escape(w), got.HTMLBody)
		}
	}
	if got.Subject != `Mail merge "Spring launch" is paused: sent to 2,345 of 12,345 recipients so far` {
		t.Errorf("Subject = %q", got.Subject)
	}
}

func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&#34;", "'", "&#39;").Replace(s)
}

func TestComposeEscapesHTML(t *testing.T) {
	n := Notice{
		Kind: Failed, To: owner, CampaignID: `c"1`,
		Campaign: `<b>Q&A</b> "launch"`, Subject: `<script>alert('x')</script>`,
		Counts: Counts{Total: 2, Sent: 1, Failed: 1},
		Reason: "A <i>reason</i> & more.", Problems: []string{`{{<span>Name</span>}}`}, Action: `Press <Resume>.`,
	}
	got, err := Compose(n, sender)
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{"<b>", "<script>", "<i>", "<span>", "<Resume>", `c"1`, "Q&A"} {
		if strings.Contains(got.HTMLBody, raw) {
			t.Errorf("HTML holds unescaped %q:\n%s", raw, got.HTMLBody)
		}
	}
	for _, esc := range []string{"&lt;b&gt;Q&amp;A&lt;/b&gt; &#34;launch&#34;", "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;",
		"A &lt;i&gt;reason&lt;/i&gt; &amp; more.", "{{&lt;span&gt;Name&lt;/span&gt;}}", "Press &lt;Resume&gt;.", "c&#34;1"} {
		if !strings.Contains(got.HTMLBody, esc) {
			t.Errorf("HTML lacks %q:\n%s", esc, got.HTMLBody)
		}
	}
	if !strings.Contains(got.TextBody, `<b>Q&A</b> "launch"`) {
		t.Errorf("text should carry the name as written:\n%s", got.TextBody)
	}
}

func TestComposeSubjectName(t *testing.T) {
	tests := []struct {
		campaign, subject string
		counts            Counts
		want              string
	}{
		{"", "Quarterly update", Counts{Total: 1, Sent: 1}, `Mail merge "Quarterly update": sent to 1 of 1 recipient`},
		{"", "  ", Counts{Total: 3, Sent: 2}, `Your mail merge: sent to 2 of 3 recipients`},
		{"Line one\r\nBcc: x\tend", "", Counts{Total: 3, Sent: 3}, `Mail merge "Line one Bcc: x end": sent to 3 of 3 recipients`},
		{strings.Repeat("é", 100), "", Counts{}, `Mail merge "` + strings.Repeat("é", 79) + `…": sent to 0 of 0 recipients`},
	}
	for _, tt := range tests {
		got, err := Compose(Notice{Kind: Completed, To: owner, Campaign: tt.campaign, Subject: tt.subject, Counts: tt.counts}, sender)
		if err != nil {
			t.Fatal(err)
		}
		if got.Subject != tt.want {
			t.Errorf("Campaign %q, Subject %q: got %q, want %q", tt.campaign, tt.subject, got.Subject, tt.want)
		}
	}
}

func TestComposeRedactsAddresses(t *testing.T) {
	n := Notice{Kind: Refused, To: owner,
		Reason:   "Row 3 (bob@contoso.example) is wrong.",
		Problems: []string{"<carol.x@fabrikam.example>", "{{@unsubscribe}}"},
		Action:   "Write to dave@contoso.example."}
	got, err := Compose(n, sender)
	if err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{got.TextBody, got.HTMLBody} {
		for _, addr := range []string{"bob@", "carol.x@", "dave@"} {
			if strings.Contains(body, addr) {
				t.Errorf("body holds %q:\n%s", addr, body)
			}
		}
		if !strings.Contains(body, "{{@unsubscribe}}") || !strings.Contains(body, "Write to [address].") {
			t.Errorf("redaction went too far or not far enough:\n%s", body)
		}
	}
}

func TestComposeProblemsCapped(t *testing.T) {
	var problems []string
	for i := range 25 {
		problems = append(problems, fmt.Sprintf("{{Column %d}}", i))
	}
	got, err := Compose(Notice{Kind: Refused, To: owner, Problems: problems}, sender)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(got.TextBody, "{{Column 19}}") || strings.Contains(got.TextBody, "{{Column 20}}") || !strings.Contains(got.TextBody, "and 5 more") {
		t.Errorf("text:\n%s", got.TextBody)
	}
}

func TestComposeRefuses(t *testing.T) {
	tests := []struct {
		name string
		n    Notice
		from string
		kind apperr.Kind
		code string
	}{
		{"unknown kind", Notice{Kind: "done", To: owner}, sender, apperr.Invalid, "notify_kind"},
		{"empty kind", Notice{To: owner}, sender, apperr.Invalid, "notify_kind"},
		{"no To", Notice{Kind: Started}, sender, apperr.Invalid, "notify_to"},
		{"named To", Notice{Kind: Started, To: "Owner <" + owner + ">"}, sender, apperr.Invalid, "notify_to"},
		{"two To", Notice{Kind: Started, To: owner + ", other@contoso.example"}, sender, apperr.Invalid, "notify_to"},
		{"bad To", Notice{Kind: Started, To: "owner at contoso"}, sender, apperr.Invalid, "notify_to"},
		{"bad From", Notice{Kind: Started, To: owner}, "notify", apperr.Internal, "notify_from"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Compose(tt.n, tt.from)
			var e *apperr.Error
			if !errors.As(err, &e) || e.Kind != tt.kind || e.Code != tt.code {
				t.Fatalf("err = %v, want %s %s", err, tt.kind, tt.code)
			}
			if tt.n.To != "" && strings.Contains(err.Error(), "contoso") {
				t.Errorf("error %q names the address", err)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{0: "0", 7: "7", 999: "999", 1000: "1,000", 99999: "99,999", 1234567: "1,234,567", -1234: "-1,234"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}
