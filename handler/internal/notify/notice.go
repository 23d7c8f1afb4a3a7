// Package notify tells a campaign's owner, by email through Postmark, that
// their mail merge started, finished, failed, was paused or was refused.
//
// What Postmark receives is part of the product's promises (DESIGN §1): the
// owner's address, the campaign's name and subject, counts, and sentences we
// wrote. Never a recipient's address or a cell value: Compose takes nothing
// else, and it blanks anything that looks like an email address in the
// free-text fields it is given.
package notify

import (
	"fmt"
	"html"
	"net/mail"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/words"
)

// Kind is what happened to the campaign.
type Kind string

// The kinds of notice.
const (
	Started   Kind = "started"
	Completed Kind = "completed"
	Failed    Kind = "failed"
	Paused    Kind = "paused"
	Refused   Kind = "refused"
	// Held: the template email is accepted and held for the owner's
	// review; nothing is sent until they start the campaign.
	Held Kind = "held"
	// NotUsed: an email sent to a campaign that another email started.
	NotUsed Kind = "not_used"
)

// Stream is Postmark's default transactional message stream.
const Stream = "outbound"

// Counts are the campaign's rows by state.
type Counts struct{ Total, Sent, Failed, Skipped, Unknown, Pending int }

// Notice is one notification to a campaign's owner.
type Notice struct {
	Kind       Kind
	To         string // the campaign owner's address: the only address that may appear
	CampaignID string
	Campaign   string // the campaign's name; may be empty
	Subject    string // the template email's subject; may be empty
	Counts     Counts
	Reason     string   // why (failed, paused, refused): a sentence we wrote, no recipient data
	Problems   []string // template-level names (unknown placeholders, attachment names), never cell values
	Action     string   // what the owner should do, e.g. "Open the Mail Merge add-in in Outlook, then press Resume."
}

// Email is a composed notification, ready for Client.Send.
type Email struct{ From, To, Subject, TextBody, HTMLBody, Tag, MessageStream string }

const (
	maxNameRunes    = 80  // of the campaign name or subject in our Subject line
	maxProblems     = 20  // listed; the rest are counted
	maxProblemRunes = 200 // of one problem
	defaultAction   = "Open the Mail Merge add-in in Outlook for the details."
)

// Compose writes the notification for n, from the given sender (a
// confirmed Postmark sender signature, e.g. "Mail Merge <notify@example.com>").
// The subject reads like `Mail merge "Name": sent to 995 of 1,000 recipients`;
// the bodies are short plain text and HTML, every value HTML-escaped in the
// latter. It fails with apperr.Invalid for an unknown kind or a To that is
// not one plain address, and with apperr.Internal for a bad sender.
func Compose(n Notice, from string) (Email, error) {
	if _, ok := lead(n.Kind); !ok {
		return Email{}, apperr.E(apperr.Invalid, "notify_kind", "unknown notice kind %q", string(n.Kind))
	}
	to, err := mail.ParseAddress(strings.TrimSpace(n.To))
	if err != nil || to.Name != "" || to.Address != strings.TrimSpace(n.To) {
		// The address itself stays out of the error.
		return Email{}, apperr.E(apperr.Invalid, "notify_to", "the notice's recipient is not one plain email address")
	}
	if _, err := mail.ParseAddress(from); err != nil {
		return Email{}, apperr.E(apperr.Internal, "notify_from", "the notification sender is not an email address")
	}
	c := content(n)
	return Email{
		From:          from,
		To:            to.Address,
		Subject:       subject(n),
		TextBody:      c.text(),
		HTMLBody:      c.html(),
		Tag:           "campaign-" + string(n.Kind),
		MessageStream: Stream,
	}, nil
}

// lead opens the body; ok is false for an unknown kind.
func lead(k Kind) (text string, ok bool) {
	switch k {
	case Started:
		return "Your mail merge has started. It is sent from your own mailbox at a steady pace, so it may take a while; we will email you again when it is done.", true
	case Completed:
		return "Your mail merge has finished.", true
	case Failed:
		return "Your mail merge stopped before it could finish.", true
	case Paused:
		return "Your mail merge is paused. Nothing more is sent until it is resumed.", true
	case Refused:
		return "Your mail merge was not started, and nothing was sent.", true
	case Held:
		return "Your email arrived and is held for your review: nothing is sent until you start the mail merge. If you had sent an email before, this one replaces it.", true
	case NotUsed:
		return "Your mail merge had already started with an earlier email, so your latest email to its address was not used. Nothing was sent because of it.", true
	}
	return "", false
}

func subject(n Notice) string {
	label := "Your mail merge"
	if name := clean(firstNonEmpty(n.Campaign, n.Subject), maxNameRunes); name != "" {
		label = `Mail merge "` + name + `"`
	}
	c := n.Counts
	progress := fmt.Sprintf("sent to %s of %s", thousands(c.Sent), recipients(c.Total))
	switch n.Kind {
	case Started:
		if c.Total > 0 {
			return label + " has started: sending to " + recipients(c.Total)
		}
		return label + " has started"
	case Completed:
		return label + ": " + progress
	case Failed:
		return label + " could not finish: " + progress
	case Paused:
		return label + " is paused: " + progress + " so far"
	case NotUsed:
		return label + ": your latest email was not used"
	case Held:
		return label + " is ready for your review"
	default: // Refused
		return label + " was not started"
	}
}

// body is the content shared by the text and HTML bodies, every value
// already cleaned but not escaped.
type body struct {
	lead, reason, action string
	unknownNote          bool // explain "Not confirmed"
	problems             []string
	moreProblems         int
	counts               [][2]string // label, formatted number
	facts                [][2]string // label, value
}

func content(n Notice) body {
	l, _ := lead(n.Kind)
	b := body{lead: l, reason: redact(clean(n.Reason, 0)), action: redact(clean(n.Action, 0))}
	if b.action == "" && (n.Kind == Failed || n.Kind == Paused || n.Kind == Refused || n.Kind == NotUsed) {
		b.action = defaultAction
	}
	for i, p := range n.Problems {
		if i == maxProblems {
			b.moreProblems = len(n.Problems) - maxProblems
			break
		}
		if p = redact(clean(p, maxProblemRunes)); p != "" {
			b.problems = append(b.problems, p)
		}
	}
	c := n.Counts
	if c != (Counts{}) {
		b.counts = append(b.counts, [2]string{"Recipients", thousands(c.Total)})
		if c.Sent > 0 || n.Kind == Completed || n.Kind == Failed || n.Kind == Paused {
			b.counts = append(b.counts, [2]string{words.Row(campaign.RowSent), thousands(c.Sent)})
		}
		for _, row := range []struct {
			label string
			n     int
		}{
			{words.Row(campaign.RowFailed), c.Failed},
			{words.Row(campaign.RowSkipped), c.Skipped},
			{words.Row(campaign.RowUnknown), c.Unknown},
			{words.Row(campaign.RowPending), c.Pending},
		} {
			if row.n > 0 {
				b.counts = append(b.counts, [2]string{row.label, thousands(row.n)})
			}
		}
		b.unknownNote = c.Unknown > 0
	}
	for _, f := range [][2]string{
		{"Campaign", clean(n.Campaign, 0)},
		{"Email subject", clean(n.Subject, 0)},
		{"Campaign id", clean(n.CampaignID, 0)},
	} {
		if f[1] != "" {
			b.facts = append(b.facts, f)
		}
	}
	return b
}

const unknownNote = "Not confirmed: Microsoft did not confirm whether these were sent, so they are not sent again automatically. The add-in lists them."

const footer = "You get this email because you started this mail merge. It holds counts only, never your recipients' details."

func (b body) text() string {
	var s strings.Builder
	s.WriteString("Hello,\n\n" + b.lead + "\n")
	if b.reason != "" {
		s.WriteString("\n" + b.reason + "\n")
	}
	if len(b.problems) > 0 {
		s.WriteString("\nWhat we found:\n")
		for _, p := range b.problems {
			s.WriteString("  - " + p + "\n")
		}
		if b.moreProblems > 0 {
			fmt.Fprintf(&s, "  - and %s more\n", thousands(b.moreProblems))
		}
	}
	if len(b.counts) > 0 {
		s.WriteString("\n")
		for _, c := range b.counts {
			fmt.Fprintf(&s, "  %-15s %9s\n", c[0]+":", c[1])
		}
		if b.unknownNote {
			s.WriteString("\n" + unknownNote + "\n")
		}
	}
	if b.action != "" {
		s.WriteString("\nWhat to do: " + b.action + "\n")
	}
	if len(b.facts) > 0 {
		s.WriteString("\n")
		for _, f := range b.facts {
			s.WriteString(f[0] + ": " + f[1] + "\n")
		}
	}
	s.WriteString("\n--\n" + footer + "\n")
	return s.String()
}

func (b body) html() string {
	e := html.EscapeString
	var s strings.Builder
	s.WriteString(`<!DOCTYPE html><html><head><meta charset="utf-8"></head>` +
		`<body style="font-family:Segoe UI,Arial,sans-serif;font-size:14px;line-height:1.5;color:#222">`)
	s.WriteString("<p>Hello,</p><p>" + e(b.lead) + "</p>")
	if b.reason != "" {
		s.WriteString("<p>" + e(b.reason) + "</p>")
	}
	if len(b.problems) > 0 {
		s.WriteString("<p>What we found:</p><ul>")
		for _, p := range b.problems {
			s.WriteString("<li>" + e(p) + "</li>")
		}
		if b.moreProblems > 0 {
			s.WriteString("<li>and " + e(thousands(b.moreProblems)) + " more</li>")
		}
		s.WriteString("</ul>")
	}
	if len(b.counts) > 0 {
		s.WriteString(`<table style="border-collapse:collapse">`)
		for _, c := range b.counts {
			s.WriteString(`<tr><td style="padding:2px 16px 2px 0">` + e(c[0]) +
				`</td><td style="padding:2px 0;text-align:right">` + e(c[1]) + "</td></tr>")
		}
		s.WriteString("</table>")
		if b.unknownNote {
			s.WriteString("<p>" + e(unknownNote) + "</p>")
		}
	}
	if b.action != "" {
		s.WriteString("<p><strong>What to do:</strong> " + e(b.action) + "</p>")
	}
	if len(b.facts) > 0 {
		s.WriteString(`<p style="color:#555">`)
		for i, f := range b.facts {
			if i > 0 {
				s.WriteString("<br>")
			}
			s.WriteString(e(f[0]) + ": " + e(f[1]))
		}
		s.WriteString("</p>")
	}
	s.WriteString(`<p style="color:#777;font-size:12px">` + e(footer) + "</p></body></html>")
	return s.String()
}

// clean makes one line of s: control characters (line breaks included) and
// runs of white space become one space. A positive max cuts it to that many
// runes, ending in "…".
func clean(s string, max int) string {
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	if max > 0 && utf8.RuneCountInString(s) > max {
		r := []rune(s)
		s = strings.TrimSpace(string(r[:max-1])) + "…"
	}
	return s
}

// redact blanks anything that looks like an email address. Reason, Action
// and Problems are ours or template-level and should hold none; should one
// slip in, it does not reach Postmark. s is one line (see clean).
func redact(s string) string {
	words := strings.Split(s, " ")
	for i, w := range words {
		core := strings.TrimLeft(w, "<([{\"'")
		lead := w[:len(w)-len(core)]
		core = strings.TrimRight(core, ">)]}\"',;:.!?")
		trail := w[len(lead)+len(core):]
		if at := strings.LastIndex(core, "@"); at > 0 && strings.Contains(strings.Trim(core[at+1:], "."), ".") {
			words[i] = lead + "[address]" + trail
		}
	}
	return strings.Join(words, " ")
}

func firstNonEmpty(ss ...string) string {
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			return s
		}
	}
	return ""
}

func recipients(n int) string {
	if n == 1 {
		return "1 recipient"
	}
	return thousands(n) + " recipients"
}

// thousands formats n with commas between groups of three digits: 1,000.
func thousands(n int) string {
	s := strconv.Itoa(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}
