// Package postmark speaks Postmark's side of email: the inbound webhook's
// payload (our own types: no Go library has the full webhook shape) and the
// checks that tell whether an inbound email really comes from its sender.
package postmark

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/mail"
	"strings"
	"time"

	"mailmerge/handler/internal/apperr"
)

// Address is one recipient or sender as Postmark parses it.
type Address struct {
	Email       string `json:"Email"`
	Name        string `json:"Name"`
	MailboxHash string `json:"MailboxHash"`
}

// Addresses is a list of addresses. Older payloads give a single
// address as an object rather than an array of one; both are read.
type Addresses []Address

// UnmarshalJSON reads an array, a single object or null.
func (a *Addresses) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*a = nil
		return nil
	case len(b) > 0 && b[0] == '{':
		var one Address
		if err := json.Unmarshal(b, &one); err != nil {
			return err
		}
		*a = Addresses{one}
		return nil
	}
	var many []Address
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// Header is one email header.
type Header struct {
	Name  string `json:"Name"`
	Value string `json:"Value"`
}

// Attachment is one attachment, its content base64-encoded.
type Attachment struct {
	Name          string `json:"Name"`
	Content       string `json:"Content"`
	ContentType   string `json:"ContentType"`
	ContentLength int64  `json:"ContentLength"`
	ContentID     string `json:"ContentID"`
}

// Decode returns the attachment's bytes. Content that is not base64, or
// that is missing or of another length than ContentLength declares, is an
// error: the file did not arrive whole, and sent on it would reach every
// recipient empty or damaged.
func (a Attachment) Decode() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(a.Content)
	switch {
	case err != nil:
		return nil, fmt.Errorf("attachment %q is not valid base64: %w", a.Name, err)
	case len(b) == 0 && a.ContentLength > 0:
		return nil, fmt.Errorf("attachment %q arrived without its content (%d bytes were announced)", a.Name, a.ContentLength)
	case a.ContentLength > 0 && int64(len(b)) != a.ContentLength:
		return nil, fmt.Errorf("attachment %q arrived with %d bytes of the %d announced", a.Name, len(b), a.ContentLength)
	}
	return b, nil
}

// Inbound is the inbound webhook's payload: every field Postmark sends.
type Inbound struct {
	MessageID         string       `json:"MessageID"`
	MessageStream     string       `json:"MessageStream"`
	From              string       `json:"From"`
	FromName          string       `json:"FromName"`
	FromFull          Address      `json:"FromFull"`
	To                string       `json:"To"`
	ToFull            Addresses    `json:"ToFull"`
	Cc                string       `json:"Cc"`
	CcFull            Addresses    `json:"CcFull"`
	Bcc               string       `json:"Bcc"`
	BccFull           Addresses    `json:"BccFull"`
	OriginalRecipient string       `json:"OriginalRecipient"`
	ReplyTo           string       `json:"ReplyTo"`
	Subject           string       `json:"Subject"`
	Date              string       `json:"Date"`
	MailboxHash       string       `json:"MailboxHash"`
	TextBody          string       `json:"TextBody"`
	HtmlBody          string       `json:"HtmlBody"`
	StrippedTextReply string       `json:"StrippedTextReply"`
	Tag               string       `json:"Tag"`
	Headers           []Header     `json:"Headers"`
	Attachments       []Attachment `json:"Attachments"`
	RawEmail          string       `json:"RawEmail,omitempty"`
}

// ParseInbound reads a webhook body.
func ParseInbound(body []byte) (Inbound, error) {
	var in Inbound
	if err := json.Unmarshal(body, &in); err != nil {
		return in, apperr.Wrap(err, apperr.Invalid, "payload_invalid", "the body is not Postmark's inbound JSON")
	}
	if strings.TrimSpace(in.MessageID) == "" {
		return in, apperr.E(apperr.Invalid, "payload_invalid", "the payload has no MessageID")
	}
	return in, nil
}

// HeaderValues returns every copy of a header (case-insensitive), in
// order. A sender can add its own copy of any header, before or after the
// one Postmark adds, so a check must look at all of them.
func (in Inbound) HeaderValues(name string) []string {
	var out []string
	for _, h := range in.Headers {
		if strings.EqualFold(h.Name, name) {
			out = append(out, h.Value)
		}
	}
	return out
}

// SentAt is the Date header, when it parses. Postmark passes the
// sender's Date on, in RFC 5322 form, with a comment after the zone
// ("+0000 (UTC)"), or, as its own documentation shows, with a colon in the
// zone ("-04:00"); an ISO 8601 time is read too.
func (in Inbound) SentAt() (time.Time, bool) {
	d := strings.TrimSpace(in.Date)
	if t, err := mail.ParseDate(d); err == nil {
		return t, true
	}
	if t, err := time.Parse(time.RFC3339, d); err == nil {
		return t, true
	}
	if i := strings.LastIndexByte(d, '('); i > 0 && strings.HasSuffix(d, ")") {
		d = strings.TrimSpace(d[:i])
	}
	if n := len(d); n > 6 && (d[n-6] == '+' || d[n-6] == '-') && d[n-3] == ':' {
		d = d[:n-3] + d[n-2:]
	}
	t, err := mail.ParseDate(d)
	return t, err == nil
}

// Sender is the header From address, lower-cased.
func (in Inbound) Sender() string {
	e := in.FromFull.Email
	if e == "" {
		if a, err := mail.ParseAddress(in.From); err == nil {
			e = a.Address
		}
	}
	return strings.ToLower(strings.TrimSpace(e))
}
