package postmark

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/apperr"
)

func fixture(t *testing.T) Inbound {
	t.Helper()
	raw, err := os.ReadFile("testdata/inbound.json")
	if err != nil {
		t.Fatal(err)
	}
	in, err := ParseInbound(raw)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestParseInbound(t *testing.T) {
	in := fixture(t)
	if in.MessageID != "73e6d360-66eb-11e1-8e72-a8904824019b" || in.MailboxHash != "c8819ae7013a6f1294da41992e" || in.MessageStream != "inbound" {
		t.Errorf("ids: %+v", in)
	}
	if in.Sender() != "alice@contoso.example" || len(in.ToFull) != 1 || in.ToFull[0].MailboxHash != in.MailboxHash {
		t.Errorf("addresses: %q %+v", in.Sender(), in.ToFull)
	}
	if len(in.Attachments) != 2 || in.Attachments[1].ContentID != "logo@01" || in.Attachments[0].ContentLength != 15 {
		t.Errorf("attachments: %+v", in.Attachments)
	}
	b, err := in.Attachments[0].Decode()
	if err != nil || !strings.HasPrefix(string(b), "%PDF-1.4") {
		t.Errorf("decoded %q %v", b, err)
	}
	if _, ok := in.SentAt(); !ok {
		t.Error("Date did not parse")
	}
	for _, bad := range []string{`{`, `[]`, `{"Subject":"no id"}`} {
		if _, err := ParseInbound([]byte(bad)); !apperr.Is(err, apperr.Invalid) {
			t.Errorf("%s: %v", bad, err)
		}
	}
}

func TestCheckSender(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Inbound)
		ok   bool
	}{
		{"SPF pass aligned", func(in *Inbound) {}, true},
		{"spam", func(in *Inbound) { setHeader(in, "X-Spam-Status", "Yes, score=7.1") }, false},
		{"SPF fail, no DKIM", func(in *Inbound) { setHeader(in, "Received-SPF", "fail (x) envelope-from=\"alice@contoso.example\"") }, false},
		{"no SPF header, no DKIM", func(in *Inbound) { setHeader(in, "Received-SPF", "") }, false},
		{"SPF pass for another domain", func(in *Inbound) {
			setHeader(in, "Received-SPF", "pass (x) identity=mailfrom; envelope-from=\"bounce@mailer.example\"; helo=x")
		}, false},
		{"SPF pass for a subdomain", func(in *Inbound) {
			setHeader(in, "Received-SPF", "pass (x) identity=mailfrom; envelope-from=\"bounces@eu.contoso.example\"; helo=x")
		}, true},
		{"DKIM of the From domain, SPF softfail", func(in *Inbound) {
			setHeader(in, "Received-SPF", "softfail (x)")
			setHeader(in, "X-Spam-Tests", "DKIM_SIGNED,DKIM_VALID,\n\tDKIM_VALID_AU,SPF_SOFTFAIL")
		}, true},
		{"spoofed From, SPF for the real sender", func(in *Inbound) {
			in.FromFull.Email = "ceo@contoso.example"
			setHeader(in, "Received-SPF", "pass (x) envelope-from=\"attacker@evil.example\"")
		}, false},
		// A sender writes its own copies before Postmark's, which say spam.
		{"forged No and DKIM before Postmark's Yes and SPF_FAIL", func(in *Inbound) {
			setHeader(in, "X-Spam-Status", "Yes, score=6.2")
			setHeader(in, "X-Spam-Tests", "SPF_FAIL")
			setHeader(in, "Received-SPF", "fail (x) envelope-from=\"alice@contoso.example\"")
			prependHeader(in, "X-Spam-Tests", "DKIM_VALID_AU")
			prependHeader(in, "X-Spam-Status", "No")
		}, false},
		{"forged copy after Postmark's says spam", func(in *Inbound) { in.Headers = append(in.Headers, Header{Name: "x-spam-status", Value: "YES"}) }, false},
		{"forged DKIM_VALID_AU, Postmark's tests lack it", func(in *Inbound) {
			setHeader(in, "Received-SPF", "softfail (x)")
			prependHeader(in, "X-Spam-Tests", "DKIM_SIGNED,DKIM_VALID,DKIM_VALID_AU")
		}, false},
		{"forged SPF pass before Postmark's fail", func(in *Inbound) {
			setHeader(in, "Received-SPF", "fail (x) envelope-from=\"alice@contoso.example\"")
			prependHeader(in, "Received-SPF", "pass (x) envelope-from=\"alice@contoso.example\"")
		}, false},
		{"forged SPF pass for the From domain beside Postmark's pass for another", func(in *Inbound) {
			setHeader(in, "Received-SPF", "pass (x) envelope-from=\"bounce@mailer.example\"")
			prependHeader(in, "Received-SPF", "pass (x) envelope-from=\"alice@contoso.example\"")
		}, false},
		{"two copies that agree", func(in *Inbound) {
			prependHeader(in, "X-Spam-Status", "no, score=-1.0")
			prependHeader(in, "Received-SPF", "Pass (y) envelope-from=\"alice@contoso.example\"")
		}, true},
		{"DKIM_VALID_AU in every copy", func(in *Inbound) {
			setHeader(in, "Received-SPF", "softfail (x)")
			setHeader(in, "X-Spam-Tests", "DKIM_VALID_AU,SPF_SOFTFAIL")
			prependHeader(in, "X-Spam-Tests", "DKIM_SIGNED,\n\tDKIM_VALID_AU")
		}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := fixture(t)
			tt.edit(&in)
			if v := CheckSender(in); v.OK != tt.ok || v.Reason == "" {
				t.Errorf("got %+v, want ok=%v", v, tt.ok)
			}
		})
	}
}

func setHeader(in *Inbound, name, value string) {
	for i, h := range in.Headers {
		if strings.EqualFold(h.Name, name) {
			in.Headers[i].Value = value
			return
		}
	}
	in.Headers = append(in.Headers, Header{Name: name, Value: value})
}

// prependHeader adds a copy of a header before every other header.
func prependHeader(in *Inbound, name, value string) {
	in.Headers = append([]Header{{Name: name, Value: value}}, in.Headers...)
}

func TestEveryFieldIsRead(t *testing.T) {
	raw, _ := os.ReadFile("testdata/inbound.json")
	var generic map[string]any
	if err := json.Unmarshal(raw, &generic); err != nil {
		t.Fatal(err)
	}
	in := fixture(t)
	back, _ := json.Marshal(in)
	var round map[string]any
	_ = json.Unmarshal(back, &round)
	for k := range generic {
		if _, ok := round[k]; !ok {
			t.Errorf("field %s of the payload is not in our type", k)
		}
	}
}

// TestDateForms: every Date form Postmark's payloads carry parses, to the
// same instant.
func TestDateForms(t *testing.T) {
	want := time.Date(2014, 8, 1, 20, 45, 32, 0, time.UTC)
	for _, d := range []string{
		"Fri, 1 Aug 2014 16:45:32 -04:00",
		"Fri, 1 Aug 2014 16:45:32 -0400",
		"Fri, 01 Aug 2014 20:45:32 +0000 (UTC)",
		"Fri, 1 Aug 2014 20:45:32 +00:00 (Coordinated Universal Time)",
		"1 Aug 2014 22:45:32 +0200",
		"2014-08-01T16:45:32-04:00",
		" Fri, 1 Aug 2014 16:45:32 -0400 ",
	} {
		got, ok := Inbound{Date: d}.SentAt()
		if !ok || !got.Equal(want) {
			t.Errorf("%q: got %v %v, want %v", d, got, ok, want)
		}
	}
	for _, d := range []string{"", "yesterday", "Fri, 1 Aug 2014 16:45:32 -04:0"} {
		if _, ok := (Inbound{Date: d}).SentAt(); ok {
			t.Errorf("%q parsed", d)
		}
	}
}

// TestAddressListForms: CcFull and BccFull as an array, a single object
// (older payloads) or null.
func TestAddressListForms(t *testing.T) {
	for _, tt := range []struct {
		json string
		want int
	}{
		{`{"MessageID":"m","CcFull":[{"Email":"a@x.example"},{"Email":"b@x.example"}],"BccFull":[]}`, 2},
		{`{"MessageID":"m","CcFull":{"Email":"a@x.example","Name":"A","MailboxHash":""},"BccFull":{"Email":"c@x.example"}}`, 1},
		{`{"MessageID":"m","CcFull":null,"BccFull":null}`, 0},
	} {
		in, err := ParseInbound([]byte(tt.json))
		if err != nil || len(in.CcFull) != tt.want || (tt.want > 0 && in.CcFull[0].Email != "a@x.example") {
			t.Errorf("%s: %+v %v", tt.json, in.CcFull, err)
		}
	}
	if _, err := ParseInbound([]byte(`{"MessageID":"m","CcFull":"a@x.example"}`)); !apperr.Is(err, apperr.Invalid) {
		t.Errorf("a string for CcFull: %v", err)
	}
}

// TestAttachmentContentMustMatchItsLength: an attachment whose content is
// missing, not base64 or not of the announced length does not decode.
func TestAttachmentContentMustMatchItsLength(t *testing.T) {
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 offer"))
	for _, tt := range []struct {
		at Attachment
		ok bool
	}{
		{Attachment{Name: "a.pdf", Content: pdf, ContentLength: 14}, true},
		{Attachment{Name: "a.pdf", Content: pdf}, true}, // no length announced
		{Attachment{Name: "empty.txt", Content: "", ContentLength: 0}, true},
		{Attachment{Name: "a.pdf", Content: "", ContentLength: 1_153_433}, false},
		{Attachment{Name: "a.pdf", Content: pdf, ContentLength: 1_153_433}, false},
		{Attachment{Name: "a.pdf", Content: pdf[:8], ContentLength: 14}, false},
		{Attachment{Name: "a.pdf", Content: "not base64!", ContentLength: 8}, false},
	} {
		b, err := tt.at.Decode()
		if (err == nil) != tt.ok {
			t.Errorf("%+v: %d bytes, %v", tt.at, len(b), err)
		}
	}
}
