package graphsandbox

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"mime"
	"net/http"
	"net/mail"
	"sort"
	"strings"
)

// Address is a recipient, as Graph's emailAddress.
type Address struct {
	Name    string `json:"name,omitempty"`
	Address string `json:"address"`
}

// Header is an internet message header (x- headers only, as Graph allows).
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Attachment describes an attachment of an accepted message.
type Attachment struct {
	Name        string `json:"name"`
	ContentType string `json:"contentType"`
	Size        int    `json:"size"`
	IsInline    bool   `json:"isInline,omitempty"`
	ContentID   string `json:"contentId,omitempty"`
}

// submission is a validated sendMail request.
type submission struct {
	subject        string
	bodyType       string // "html" or "text"
	body           string
	to, cc, bcc    []Address
	replyTo        []Address
	headers        []Header
	attachments    []Attachment
	attachmentData [][]byte
	importance     string
	// mimeHeaders are the headers Exchange's MIME writer makes of MAPI
	// properties set as extended properties.
	mimeHeaders     []Header
	saveToSentItems bool
	mime            []byte // a MIME submission (text/plain base64), written as is
	// internetMessageID is the client's message.internetMessageId, kept as
	// the Message-ID; "" lets the sandbox make one (see accept).
	internetMessageID string
}

func (m *submission) recipients() int { return len(m.to) + len(m.cc) + len(m.bcc) }

// The wire shapes; encoding/json matches keys case-insensitively, as Graph
// does for the action parameters (msgraph-sdk-go writes "Message" and
// "SaveToSentItems").
type wireMessage struct {
	ODataType              string          `json:"@odata.type"`
	Subject                *string         `json:"subject"`
	Body                   *wireBody       `json:"body"`
	ToRecipients           []wireRecipient `json:"toRecipients"`
	CcRecipients           []wireRecipient `json:"ccRecipients"`
	BccRecipients          []wireRecipient `json:"bccRecipients"`
	ReplyTo                []wireRecipient `json:"replyTo"`
	Attachments            []wireAttach    `json:"attachments"`
	InternetMessageHeaders []Header        `json:"internetMessageHeaders"`
	Importance             *string         `json:"importance"`
	InternetMessageID      *string         `json:"internetMessageId"`
	// SingleValueExtendedProperties: {"id": "<type> <tag or set Name n>",
	// "value": ...}.
	SingleValueExtendedProperties []struct {
		ID    string `json:"id"`
		Value string `json:"value"`
	} `json:"singleValueExtendedProperties"`
}

type wireBody struct {
	ContentType *string `json:"contentType"`
	Content     *string `json:"content"`
}

type wireRecipient struct {
	EmailAddress *struct {
		Address *string `json:"address"`
		Name    *string `json:"name"`
	} `json:"emailAddress"`
}

type wireAttach struct {
	ODataType    string  `json:"@odata.type"`
	Name         *string `json:"name"`
	ContentType  *string `json:"contentType"`
	ContentBytes *string `json:"contentBytes"`
	ContentID    *string `json:"contentId"`
	IsInline     *bool   `json:"isInline"`
}

// isMessageProperty reports whether k (lower case) is a property of
// microsoft.graph.message (v1.0) or its base types. Graph rejects others
// with 400 RequestBodyRead.
func isMessageProperty(k string) bool {
	switch k {
	case "id", "categories", "changekey", "createddatetime", "lastmodifieddatetime",
		"bccrecipients", "body", "bodypreview", "ccrecipients", "conversationid", "conversationindex", "flag",
		"from", "hasattachments", "importance", "inferenceclassification", "internetmessageheaders",
		"internetmessageid", "isdeliveryreceiptrequested", "isdraft", "isread", "isreadreceiptrequested",
		"parentfolderid", "receiveddatetime", "replyto", "sender", "sentdatetime", "subject", "torecipients",
		"uniquebody", "weblink", "attachments", "extensions", "multivalueextendedproperties",
		"singlevalueextendedproperties":
		return true
	}
	return false
}

// isAttachmentProperty is isMessageProperty for microsoft.graph.fileAttachment.
func isAttachmentProperty(k string) bool {
	switch k {
	case "id", "contenttype", "isinline", "lastmodifieddatetime", "name", "size",
		"contentbytes", "contentid", "contentlocation":
		return true
	}
	return false
}

// parseRequest decodes and validates a sendMail body: JSON
// {message, saveToSentItems}, or base64 MIME when Content-Type is text/plain
// (reference section 1).
func (s *Sandbox) parseRequest(contentType string, raw []byte) (*submission, *graphError) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if strings.EqualFold(mt, "text/plain") {
		return s.parseMIME(raw)
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, gerr(http.StatusBadRequest, CodeBadRequest, "Empty Payload. JSON content expected.")
	}
	var params map[string]json.RawMessage
	if err := json.Unmarshal(raw, &params); err != nil {
		return nil, gerr(http.StatusBadRequest, CodeRequestBodyRead, "Invalid JSON. %v", err)
	}
	var rawMsg json.RawMessage
	sub := &submission{saveToSentItems: true} // Graph's default
	for k, v := range params {
		switch {
		case strings.EqualFold(k, "message"):
			rawMsg = v
		case strings.EqualFold(k, "saveToSentItems"):
			if string(v) == "null" {
				continue
			}
			if err := json.Unmarshal(v, &sub.saveToSentItems); err != nil {
				return nil, gerr(http.StatusBadRequest, CodeRequestBodyRead, "Cannot convert the literal '%s' to the expected type 'Edm.Boolean'.", string(v))
			}
		case strings.HasPrefix(k, "@"):
		default:
			return nil, gerr(http.StatusBadRequest, CodeRequestBodyRead, "The parameter '%s' in the request payload is not a valid parameter for the operation 'sendMail'.", k)
		}
	}
	if len(rawMsg) == 0 || string(rawMsg) == "null" {
		return nil, gerr(http.StatusBadRequest, CodeInvalidRequest, "The parameter 'Message' is required for the operation 'sendMail'.")
	}
	var props map[string]json.RawMessage
	if err := json.Unmarshal(rawMsg, &props); err != nil {
		return nil, gerr(http.StatusBadRequest, CodeRequestBodyRead, "Invalid JSON. %v", err)
	}
	for k := range props {
		if !strings.HasPrefix(k, "@") && !isMessageProperty(strings.ToLower(k)) {
			return nil, gerr(http.StatusBadRequest, CodeRequestBodyRead, "The property '%s' does not exist on type 'microsoft.graph.message'. Make sure to only use property names that are defined by the type or mark the type as open type.", k)
		}
	}
	var wm wireMessage
	if err := json.Unmarshal(rawMsg, &wm); err != nil {
		return nil, gerr(http.StatusBadRequest, CodeRequestBodyRead, "Invalid JSON. %v", err)
	}
	if wm.ODataType != "" && !strings.EqualFold(wm.ODataType, "#microsoft.graph.message") {
		return nil, gerr(http.StatusBadRequest, CodeRequestBodyRead, "A type named '%s' could not be resolved by the model.", strings.TrimPrefix(wm.ODataType, "#"))
	}
	if e := s.fill(sub, &wm, rawMsg); e != nil {
		return nil, e
	}
	return sub, nil
}

func (s *Sandbox) fill(sub *submission, wm *wireMessage, rawMsg json.RawMessage) *graphError {
	if wm.Subject != nil {
		sub.subject = *wm.Subject
	}
	sub.bodyType = "text"
	if wm.Body != nil {
		if wm.Body.ContentType != nil {
			switch ct := strings.ToLower(*wm.Body.ContentType); ct {
			case "html", "text":
				sub.bodyType = ct
			default:
				return gerr(http.StatusBadRequest, CodeRequestBodyRead, "Requested value '%s' was not found.", *wm.Body.ContentType)
			}
		}
		if wm.Body.Content != nil {
			sub.body = *wm.Body.Content
		}
	}
	if wm.Importance != nil {
		switch imp := strings.ToLower(*wm.Importance); imp {
		case "low", "normal", "high":
			sub.importance = imp
		default:
			return gerr(http.StatusBadRequest, CodeRequestBodyRead, "Requested value '%s' was not found.", *wm.Importance)
		}
	}

	// Attachments: only fileAttachment is emulated; attachment is abstract
	// so Graph needs the @odata.type.
	var rawAtts []map[string]json.RawMessage
	var props struct {
		Attachments []map[string]json.RawMessage `json:"attachments"`
	}
	if json.Unmarshal(rawMsg, &props) == nil {
		rawAtts = props.Attachments
	}
	for i, a := range wm.Attachments {
		switch {
		case a.ODataType == "":
			return gerr(http.StatusBadRequest, CodeRequestBodyRead, "Cannot create an abstract class.")
		case !strings.EqualFold(a.ODataType, "#microsoft.graph.fileAttachment"):
			return gerr(http.StatusBadRequest, CodeInvalidRequest, "The sandbox emulates only #microsoft.graph.fileAttachment, not '%s'.", a.ODataType)
		}
		if i < len(rawAtts) {
			for k := range rawAtts[i] {
				if !strings.HasPrefix(k, "@") && !isAttachmentProperty(strings.ToLower(k)) {
					return gerr(http.StatusBadRequest, CodeRequestBodyRead, "The property '%s' does not exist on type 'microsoft.graph.fileAttachment'. Make sure to only use property names that are defined by the type or mark the type as open type.", k)
				}
			}
		}
		var data []byte
		if a.ContentBytes != nil {
			var err error
			data, err = base64.StdEncoding.DecodeString(*a.ContentBytes)
			if err != nil {
				return gerr(http.StatusBadRequest, CodeRequestBodyRead, "Cannot convert the literal '%s' to the expected type 'Edm.Binary'.", abbreviate(*a.ContentBytes))
			}
		}
		if len(data) > s.maxAtt {
			return gerr(http.StatusBadRequest, CodeAttachmentSizeLimit, "The attachment size %d exceeds the maximum of %d bytes for an attachment in the request body; use an upload session.", len(data), s.maxAtt)
		}
		att := Attachment{Name: deref(a.Name), ContentType: deref(a.ContentType), Size: len(data), ContentID: deref(a.ContentID)}
		if a.IsInline != nil {
			att.IsInline = *a.IsInline
		}
		sub.attachments = append(sub.attachments, att)
		sub.attachmentData = append(sub.attachmentData, data)
	}

	if wm.InternetMessageID != nil {
		id := strings.TrimSpace(*wm.InternetMessageID)
		if !validMessageID(id) {
			return gerr(http.StatusBadRequest, CodeInvalidInternetMessageID, "The internetMessageId '%s' is not a message id of the form <left@right> (RFC 5322 msg-id).", abbreviate(*wm.InternetMessageID))
		}
		sub.internetMessageID = id
	}

	for _, h := range wm.InternetMessageHeaders {
		if len(h.Name) < 2 || !strings.EqualFold(h.Name[:2], "x-") {
			return gerr(http.StatusBadRequest, CodeInvalidHeader, "The internet message header name '%s' should start with 'x-' or 'X-'.", h.Name)
		}
		if !isToken(h.Name) {
			return gerr(http.StatusBadRequest, CodeInvalidHeader, "The internet message header name '%s' contains characters that are not allowed.", h.Name)
		}
		sub.headers = append(sub.headers, h)
	}

	for _, p := range wm.SingleValueExtendedProperties {
		h, e := mimeHeaderOf(p.ID, p.Value)
		if e != nil {
			return e
		}
		if h.Name != "" {
			sub.mimeHeaders = append(sub.mimeHeaders, h)
		}
	}

	var e *graphError
	if sub.to, e = addresses(wm.ToRecipients); e != nil {
		return e
	}
	if sub.cc, e = addresses(wm.CcRecipients); e != nil {
		return e
	}
	if sub.bcc, e = addresses(wm.BccRecipients); e != nil {
		return e
	}
	if sub.replyTo, e = addresses(wm.ReplyTo); e != nil {
		return e
	}
	return s.checkRecipientCount(sub)
}

func (s *Sandbox) checkRecipientCount(sub *submission) *graphError {
	n := sub.recipients()
	if n == 0 {
		return gerr(http.StatusBadRequest, CodeInvalidRecipients, "At least one recipient is not valid., A message can't be sent because it contains no recipients.")
	}
	if s.maxRcpt > 0 && n > s.maxRcpt {
		return gerr(http.StatusBadRequest, CodeExceededMessageLimit, "The message has %d recipients; the maximum is %d.", n, s.maxRcpt)
	}
	return nil
}

func addresses(rs []wireRecipient) ([]Address, *graphError) {
	var out []Address
	for _, r := range rs {
		var a Address
		if r.EmailAddress != nil {
			a.Address = strings.TrimSpace(deref(r.EmailAddress.Address))
			a.Name = deref(r.EmailAddress.Name)
		}
		if !validAddress(a.Address) {
			return nil, gerr(http.StatusBadRequest, CodeInvalidRecipients, "At least one recipient isn't valid., Recipient '%s' isn't resolved. All recipients must be resolved before a message can be submitted.", a.Address)
		}
		out = append(out, a)
	}
	return out, nil
}

// validAddress reports whether s is a bare addr-spec (local@domain).
func validAddress(s string) bool {
	if s == "" || strings.ContainsAny(s, "<>\r\n") {
		return false
	}
	p, err := mail.ParseAddress(s)
	if err != nil || p.Name != "" || !strings.EqualFold(p.Address, s) {
		return false
	}
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

// isToken reports whether s is a valid header field name (RFC 5322 ftext).
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == ':' {
			return false
		}
	}
	return s != ""
}

func deref[T any](p *T) T {
	var z T
	if p == nil {
		return z
	}
	return *p
}

func abbreviate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// parseMIME accepts a base64 MIME message (Content-Type: text/plain), the
// other documented sendMail body. Recipients come from To, Cc and Bcc.
func (s *Sandbox) parseMIME(raw []byte) (*submission, *graphError) {
	clean := bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, raw)
	data, err := base64.StdEncoding.DecodeString(string(clean))
	if err != nil || len(data) == 0 {
		return nil, gerr(http.StatusBadRequest, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content.")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(data))
	if err != nil {
		return nil, gerr(http.StatusBadRequest, "ErrorMimeContentInvalid", "The MIME content is not valid: %v", err)
	}
	sub := &submission{saveToSentItems: true, mime: data}
	dec := new(mime.WordDecoder)
	if subj, err := dec.DecodeHeader(msg.Header.Get("Subject")); err == nil {
		sub.subject = subj
	} else {
		sub.subject = msg.Header.Get("Subject")
	}
	for _, f := range []struct {
		name string
		dst  *[]Address
	}{{"To", &sub.to}, {"Cc", &sub.cc}, {"Bcc", &sub.bcc}, {"Reply-To", &sub.replyTo}} {
		if msg.Header.Get(f.name) == "" {
			continue
		}
		list, err := msg.Header.AddressList(f.name)
		if err != nil {
			return nil, gerr(http.StatusBadRequest, CodeInvalidRecipients, "At least one recipient isn't valid., %v", err)
		}
		for _, a := range list {
			*f.dst = append(*f.dst, Address{Name: a.Name, Address: a.Address})
		}
	}
	names := make([]string, 0, len(msg.Header))
	for name := range msg.Header {
		if len(name) >= 2 && strings.EqualFold(name[:2], "x-") {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		for _, v := range msg.Header[name] {
			sub.headers = append(sub.headers, Header{Name: name, Value: v})
		}
	}
	if e := s.checkRecipientCount(sub); e != nil {
		return nil, e
	}
	return sub, nil
}

// psInternetHeaders is the MAPI property set (PS_INTERNET_HEADERS) that
// holds an item's Internet headers as named properties, one per header.
const psInternetHeaders = "{00020386-0000-0000-c000-000000000046}"

// mimeHeaderOf is the header Exchange's MIME writer is expected to make of
// an extended property, as this sandbox renders it: PidTagListUnsubscribe
// (String 0x1045) becomes List-Unsubscribe ([MS-OXCMAIL] maps the two),
// and a String named property of PS_INTERNET_HEADERS the header of its
// name. Neither is verified against Exchange Online (see the README: how
// to check it with a real tenant). Other well-formed properties are kept
// on the item and make no header; an id Graph cannot parse is 400
// ErrorInvalidProperty.
func mimeHeaderOf(id, value string) (Header, *graphError) {
	f := strings.Fields(id)
	switch {
	case len(f) == 2 && strings.EqualFold(f[0], "String") && strings.EqualFold(f[1], "0x1045"):
		return Header{Name: "List-Unsubscribe", Value: value}, nil
	case len(f) == 4 && strings.EqualFold(f[0], "String") && strings.EqualFold(f[1], psInternetHeaders) && strings.EqualFold(f[2], "Name") && isToken(f[3]):
		return Header{Name: f[3], Value: value}, nil
	case len(f) == 2 && strings.HasPrefix(strings.ToLower(f[1]), "0x"),
		len(f) == 4 && strings.EqualFold(f[2], "Name"),
		len(f) == 4 && strings.EqualFold(f[2], "Id"):
		return Header{}, nil
	}
	return Header{}, gerr(http.StatusBadRequest, "ErrorInvalidProperty", "The property id '%s' is not valid.", id)
}
