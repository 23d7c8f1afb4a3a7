package merge

import (
	"fmt"
	"net/mail"
	"slices"
	"strings"

	"mailmerge/handler/internal/campaign"
)

// Attachment is one attachment of the template email.
type Attachment struct {
	Name        string
	ContentType string
	Size        int64
	// ContentID is set for inline images referenced from the body (cid:).
	ContentID string
}

// Inline reports whether the attachment is an image shown in the body: it
// goes with every message, whatever the Attachments column says.
func (a Attachment) Inline() bool { return a.ContentID != "" }

// Fields are the positions of the special columns in a row (-1: absent).
type Fields struct {
	To, CC, BCC, Attachments int
}

// FieldsOf takes the special columns from the campaign's columns.
func FieldsOf(c campaign.Columns) Fields {
	return Fields{To: c.To, CC: c.CC, BCC: c.BCC, Attachments: c.Attachments}
}

// Message is one personalised email, ready for the mail sender: the sender
// turns it into a Graph message value. Attachments are indexes into the
// template email's attachments, whose content the sender loads.
type Message struct {
	To, CC, BCC []*mail.Address
	Subject     string
	HTML        []byte
	Text        []byte
	Attachments []int
	// DroppedLinks are merged links refused for their scheme.
	DroppedLinks []DroppedLink
	// MessageID, when set, is the message's own Internet Message-ID
	// (<…@…>), by which it is found again in the sender's mailbox.
	MessageID string
}

// Build renders one row into a message: recipients from the row's To, CC
// and BCC cells, attachments by the row's Attachments cell. The rendered
// parts alias out's buffers, so a sender can reuse out for the next row.
func (t *Template) Build(cells []string, f Fields, attachments []Attachment, opts RenderOptions, out *Rendered) (Message, error) {
	var m Message
	var err error
	for _, p := range []struct {
		idx  int
		name string
		dst  *[]*mail.Address
	}{{f.To, "To", &m.To}, {f.CC, "CC", &m.CC}, {f.BCC, "BCC", &m.BCC}} {
		if p.idx < 0 {
			continue
		}
		if *p.dst, err = campaign.ParseAddresses(cell(cells, p.idx)); err != nil {
			return m, fmt.Errorf("%s: %w", p.name, err)
		}
	}
	if len(m.To) == 0 {
		return m, fmt.Errorf("no recipient in To")
	}
	m.Attachments, err = ResolveAttachments(cells, f, attachments)
	if err != nil {
		return m, err
	}
	t.Render(cells, opts, out)
	m.Subject, m.HTML, m.Text, m.DroppedLinks = string(out.Subject), out.HTML, out.Text, out.DroppedLinks
	return m, nil
}

// ResolveAttachments picks the template attachments a row gets. Without an
// Attachments column every attachment goes; with one, the cell names them
// (separated by ";" or ",", matched ignoring case and surrounding spaces),
// an empty cell meaning none, and inline images always go. A name that is
// not an attachment of the template email is an error naming the choices.
func ResolveAttachments(cells []string, f Fields, available []Attachment) ([]int, error) {
	var out []int
	if f.Attachments < 0 {
		for i := range available {
			out = append(out, i)
		}
		return out, nil
	}
	for i, a := range available {
		if a.Inline() {
			out = append(out, i)
		}
	}
	for _, name := range strings.FieldsFunc(cell(cells, f.Attachments), func(r rune) bool { return r == ';' || r == ',' }) {
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		found := -1
		for i, a := range available {
			if !a.Inline() && strings.EqualFold(strings.TrimSpace(a.Name), name) {
				found = i
				break
			}
		}
		if found < 0 {
			return nil, fmt.Errorf("attachment %q is not attached to the template email (attached: %s)", name, attachmentNames(available))
		}
		if !slices.Contains(out, found) {
			out = append(out, found)
		}
	}
	return out, nil
}

func attachmentNames(available []Attachment) string {
	var names []string
	for _, a := range available {
		if !a.Inline() {
			names = append(names, fmt.Sprintf("%q", a.Name))
		}
	}
	if len(names) == 0 {
		return "none"
	}
	return strings.Join(names, ", ")
}
