// Package postmark speaks Postmark's side of email: the inbound webhook's
// payload (our own types: no Go library has the full webhook shape) and the
// checks that tell whether an inbound email really comes from its sender.
package postmark

import (
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

// Decode returns the attachment's bytes.
func (a Attachment) Decode() ([]byte, error) {
	b, err := base64.StdEncoding.DecodeString(a.Content)
	if err != nil {
		return nil, fmt.Errorf("attachment %q: %w", a.Name, err)
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
	ToFull            []Address    `json:"ToFull"`
	Cc                string       `json:"Cc"`
	CcFull            []Address    `json:"CcFull"`
	Bcc               string       `json:"Bcc"`
	BccFull           []Address    `json:"BccFull"`
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

// SentAt is the Date header, when it parses.
func (in Inbound) SentAt() (time.Time, bool) {
	t, err := mail.ParseDate(in.Date)
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
