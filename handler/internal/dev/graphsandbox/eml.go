package graphsandbox

import (
	"bytes"
	"encoding/base64"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"net/textproto"
	"strings"
	"time"
	"unicode/utf8"
)

// buildEML renders an accepted message as RFC 5322 MIME, as the sending
// MTA would: From is the mailbox, Bcc is not in the headers.
func buildEML(a *Accepted, sub *submission) ([]byte, error) {
	if sub.mime != nil {
		return rewriteMIME(a, sub.mime), nil
	}
	var b bytes.Buffer
	writeAddressHeader(&b, "From", []Address{{Name: a.FromName, Address: a.Mailbox}})
	if len(a.To) > 0 {
		writeAddressHeader(&b, "To", a.To)
	}
	if len(a.Cc) > 0 {
		writeAddressHeader(&b, "Cc", a.Cc)
	}
	if len(a.ReplyTo) > 0 {
		writeAddressHeader(&b, "Reply-To", a.ReplyTo)
	}
	writeTextHeader(&b, "Subject", a.Subject)
	writeRawHeader(&b, "Date", a.Time.Format(time.RFC1123Z))
	writeRawHeader(&b, "Message-ID", a.MessageID)
	switch sub.importance {
	case "high":
		writeRawHeader(&b, "Importance", "High")
	case "low":
		writeRawHeader(&b, "Importance", "Low")
	}
	for _, h := range a.Headers {
		writeTextHeader(&b, textproto.CanonicalMIMEHeaderKey(h.Name), h.Value)
	}
	for _, h := range sub.mimeHeaders {
		writeTextHeader(&b, h.Name, h.Value)
	}
	writeRawHeader(&b, "MIME-Version", "1.0")

	mw := multipart.NewWriter(&b)
	writeRawHeader(&b, "Content-Type", mime.FormatMediaType("multipart/mixed", map[string]string{"boundary": mw.Boundary()}))
	b.WriteString("\r\n")

	html := sub.bodyType == "html"
	var inline, attached []int
	for i, at := range sub.attachments {
		if at.IsInline && html {
			inline = append(inline, i)
		} else {
			attached = append(attached, i)
		}
	}
	if len(inline) > 0 {
		// An HTML body with inline images: multipart/related, so cid:
		// references resolve.
		boundary := multipart.NewWriter(nil).Boundary()
		h := textproto.MIMEHeader{}
		h.Set("Content-Type", mime.FormatMediaType("multipart/related", map[string]string{"boundary": boundary, "type": "text/html"}))
		pw, err := mw.CreatePart(h)
		if err != nil {
			return nil, err
		}
		rw := multipart.NewWriter(pw)
		if err := rw.SetBoundary(boundary); err != nil {
			return nil, err
		}
		if err := writeBody(rw, sub); err != nil {
			return nil, err
		}
		for _, i := range inline {
			if err := writeAttachment(rw, sub.attachments[i], sub.attachmentData[i]); err != nil {
				return nil, err
			}
		}
		if err := rw.Close(); err != nil {
			return nil, err
		}
	} else if err := writeBody(mw, sub); err != nil {
		return nil, err
	}
	for _, i := range attached {
		if err := writeAttachment(mw, sub.attachments[i], sub.attachmentData[i]); err != nil {
			return nil, err
		}
	}
	if err := mw.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

func writeBody(mw *multipart.Writer, sub *submission) error {
	h := textproto.MIMEHeader{}
	ct := "text/plain"
	if sub.bodyType == "html" {
		ct = "text/html"
	}
	h.Set("Content-Type", ct+"; charset=utf-8")
	h.Set("Content-Transfer-Encoding", "quoted-printable")
	pw, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	qw := quotedprintable.NewWriter(pw)
	if _, err := qw.Write([]byte(sub.body)); err != nil {
		return err
	}
	return qw.Close()
}

func writeAttachment(mw *multipart.Writer, at Attachment, data []byte) error {
	name := at.Name
	if name == "" {
		name = "attachment"
	}
	ct := "application/octet-stream"
	if mt, params, err := mime.ParseMediaType(at.ContentType); err == nil && strings.Contains(mt, "/") {
		params["name"] = name
		if s := mime.FormatMediaType(mt, params); s != "" {
			ct = s
		}
	}
	if !strings.Contains(ct, "name") {
		ct = mime.FormatMediaType(ct, map[string]string{"name": name})
	}
	h := textproto.MIMEHeader{}
	h.Set("Content-Type", ct)
	disp := "attachment"
	if at.IsInline {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": name}))
	h.Set("Content-Transfer-Encoding", "base64")
	if at.ContentID != "" {
		h.Set("Content-ID", "<"+strings.Trim(at.ContentID, "<> ")+">")
	}
	pw, err := mw.CreatePart(h)
	if err != nil {
		return err
	}
	enc := base64.StdEncoding.EncodeToString(data)
	for len(enc) > 76 {
		if _, err := pw.Write([]byte(enc[:76] + "\r\n")); err != nil {
			return err
		}
		enc = enc[76:]
	}
	_, err = pw.Write([]byte(enc + "\r\n"))
	return err
}

// writeRawHeader writes a header whose value is already valid ASCII.
func writeRawHeader(b *bytes.Buffer, name, value string) {
	b.WriteString(name + ": " + noCRLF(value) + "\r\n")
}

// writeTextHeader writes an unstructured header (Subject, x- headers):
// RFC 2047 encoded when not ASCII, folded at spaces.
func writeTextHeader(b *bytes.Buffer, name, value string) {
	value = noCRLF(value)
	if !isPrintableASCII(value) {
		nonASCII := 0
		for i := 0; i < len(value); i++ {
			if value[i] >= 0x80 {
				nonASCII++
			}
		}
		if nonASCII*3 > len(value) {
			value = mime.BEncoding.Encode("utf-8", value)
		} else {
			value = mime.QEncoding.Encode("utf-8", value)
		}
	}
	fold(b, name+": ", strings.Split(value, " "), " ")
}

// writeAddressHeader writes an address list, one address per folded line
// when long; display names are RFC 2047 encoded by net/mail.
func writeAddressHeader(b *bytes.Buffer, name string, list []Address) {
	parts := make([]string, len(list))
	for i, a := range list {
		s := (&mail.Address{Name: a.Name, Address: a.Address}).String()
		if i < len(list)-1 {
			s += ","
		}
		parts[i] = s
	}
	fold(b, name+": ", parts, " ")
}

// fold writes tokens separated by sep, starting a continuation line (CRLF
// + the separator) instead of sep when the line would pass 76 characters.
func fold(b *bytes.Buffer, prefix string, tokens []string, sep string) {
	b.WriteString(prefix)
	line := len(prefix)
	for i, t := range tokens {
		if i > 0 {
			if line+len(sep)+len(t) > 76 && line > 1 {
				b.WriteString("\r\n")
				line = 0
			}
			b.WriteString(sep)
			line += len(sep)
		}
		b.WriteString(t)
		line += len(t)
	}
	b.WriteString("\r\n")
}

func noCRLF(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return ' '
		}
		return r
	}, s)
}

func isPrintableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 0x7f || c < ' ' && c != '\t' {
			return false
		}
	}
	return utf8.ValidString(s)
}

// rewriteMIME adapts a MIME submission as the MTA would: From is the
// mailbox, Bcc and Sender are dropped, Date and Message-ID are added when
// missing.
func rewriteMIME(a *Accepted, data []byte) []byte {
	sep := []byte("\r\n\r\n")
	end := bytes.Index(data, sep)
	if i := bytes.Index(data, []byte("\n\n")); i >= 0 && (end < 0 || i < end) {
		end, sep = i, []byte("\n\n")
	}
	head, body := data, []byte(nil)
	if end >= 0 {
		head, body = data[:end], data[end+len(sep):]
	}
	var fields []string
	for _, line := range strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n") {
		if (strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t")) && len(fields) > 0 {
			fields[len(fields)-1] += "\r\n" + line
		} else if line != "" {
			fields = append(fields, line)
		}
	}
	var b bytes.Buffer
	writeAddressHeader(&b, "From", []Address{{Name: a.FromName, Address: a.Mailbox}})
	hasDate, hasID := false, false
	for _, f := range fields {
		name, value, _ := strings.Cut(f, ":")
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "bcc", "from", "sender":
			continue
		case "date":
			hasDate = true
		case "message-id":
			hasID = true
			a.MessageID = strings.TrimSpace(value)
		}
		b.WriteString(f + "\r\n")
	}
	if !hasDate {
		writeRawHeader(&b, "Date", a.Time.Format(time.RFC1123Z))
	}
	if !hasID {
		writeRawHeader(&b, "Message-ID", a.MessageID)
	}
	b.WriteString("\r\n")
	b.Write(body)
	return b.Bytes()
}
