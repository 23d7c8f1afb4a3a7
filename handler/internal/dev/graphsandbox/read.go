package graphsandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Reading messages: List messages (…/messages and
// …/mailFolders/{f}/messages, https://learn.microsoft.com/en-us/graph/api/user-list-messages),
// Get message (…/messages/{id}, https://learn.microsoft.com/en-us/graph/api/message-get)
// and delta (delta.go). What a reader may see depends on its permission
// (readPermission in graph.go).

// messageProps are the properties of microsoft.graph.message the sandbox
// answers (https://learn.microsoft.com/en-us/graph/api/resources/message).
var messageProps = []string{"id", "createdDateTime", "lastModifiedDateTime", "changeKey", "categories",
	"receivedDateTime", "sentDateTime", "hasAttachments", "internetMessageId", "subject", "bodyPreview",
	"importance", "parentFolderId", "conversationId", "conversationIndex", "isDeliveryReceiptRequested",
	"isReadReceiptRequested", "isRead", "isDraft", "webLink", "inferenceClassification", "body", "uniqueBody",
	"sender", "from", "toRecipients", "ccRecipients", "bccRecipients", "replyTo", "flag",
	"internetMessageHeaders"}

// messageProp returns the property named p, in any case.
func messageProp(p string) (string, bool) {
	for _, name := range messageProps {
		if strings.EqualFold(name, p) {
			return name, true
		}
	}
	return "", false
}

// bodyProps are the properties Mail.ReadBasic excludes.
var bodyProps = map[string]bool{"body": true, "bodyPreview": true, "uniqueBody": true}

// selection is a parsed $select: nil means Graph's default set, which
// holds every property but internetMessageHeaders ("returned only on
// applying a $select query option",
// https://learn.microsoft.com/en-us/graph/api/resources/message) and
// uniqueBody.
type selection map[string]bool

// parseSelect reads $select. An unknown property is 400
// RequestBroker--ParseUri, as Graph answers. Selecting body, bodyPreview or
// uniqueBody with Mail.ReadBasic is 403 ErrorAccessDenied: the permission
// excludes them and the docs do not say what selecting them does, so the
// sandbox refuses rather than answer something a reader could rely on.
// Without $select, Mail.ReadBasic gets the default set without them.
func parseSelect(raw string, access readAccess) (selection, *graphError) {
	if strings.TrimSpace(raw) == "" {
		return nil, nil
	}
	sel := selection{}
	for _, p := range strings.Split(raw, ",") {
		p = strings.TrimSpace(p)
		name, ok := messageProp(p)
		if !ok {
			return nil, gerr(http.StatusBadRequest, CodeParseURI, "Could not find a property named '%s' on type 'microsoft.graph.message'.", p)
		}
		if bodyProps[name] && access != readFull {
			return nil, gerr(http.StatusForbidden, CodeAccessDenied, MsgAccessDenied)
		}
		sel[name] = true
	}
	return sel, nil
}

// render is a message as JSON: the selected properties (or the default
// set) plus id and @odata.etag, which Graph always returns. Mail.ReadBasic
// never gets the body properties. folderID maps well-known names to ids.
func render(v view, sel selection, access readAccess, folderID map[string]string) map[string]any {
	all := map[string]any{
		"id":                         v.id,
		"createdDateTime":            graphTime(v.created),
		"lastModifiedDateTime":       graphTime(v.modified),
		"changeKey":                  strings.TrimSuffix(strings.TrimPrefix(v.etag(), `W/"`), `"`),
		"categories":                 []string{},
		"receivedDateTime":           graphTime(v.received),
		"sentDateTime":               graphTime(v.sent),
		"hasAttachments":             v.hasAttachments,
		"internetMessageId":          v.internetMessageID,
		"subject":                    v.subject,
		"importance":                 v.importance,
		"parentFolderId":             folderID[v.folder],
		"conversationId":             v.conversationID,
		"isDeliveryReceiptRequested": false,
		"isReadReceiptRequested":     false,
		"isRead":                     v.isRead,
		"isDraft":                    v.isDraft,
		"webLink":                    "https://outlook.office365.com/owa/?ItemID=" + url.QueryEscape(v.id) + "&exvsurl=1&viewmodel=ReadMessageItem",
		"inferenceClassification":    "focused",
		"toRecipients":               recipients(v.to),
		"ccRecipients":               recipients(v.cc),
		"bccRecipients":              recipients(v.bcc),
		"replyTo":                    recipients(v.replyTo),
		"flag":                       map[string]string{"flagStatus": "notFlagged"},
	}
	if v.from != nil {
		all["from"] = emailAddress(*v.from)
		all["sender"] = emailAddress(*v.from)
	}
	if access == readFull {
		all["body"] = map[string]string{"contentType": v.bodyType, "content": v.body}
		all["uniqueBody"] = all["body"]
		all["bodyPreview"] = preview(v.body)
	}
	if v.headers != nil {
		hs := make([]Header, len(v.headers))
		copy(hs, v.headers)
		all["internetMessageHeaders"] = hs
	}
	out := map[string]any{"id": v.id, "@odata.etag": v.etag()}
	for k, val := range all {
		if sel == nil && k != "internetMessageHeaders" && k != "uniqueBody" || sel[k] {
			out[k] = val
		}
	}
	return out
}

func recipients(list []Address) []map[string]any {
	out := make([]map[string]any, 0, len(list))
	for _, a := range list {
		out = append(out, emailAddress(a))
	}
	return out
}

func emailAddress(a Address) map[string]any {
	name := a.Name
	if name == "" {
		name = a.Address // Exchange fills the name with the address
	}
	return map[string]any{"emailAddress": map[string]string{"name": name, "address": a.Address}}
}

var tags = regexp.MustCompile(`<[^>]*>`)

// preview is bodyPreview: the first 255 characters of the text.
func preview(body string) string {
	t := strings.Join(strings.Fields(tags.ReplaceAllString(body, " ")), " ")
	if r := []rune(t); len(r) > 255 {
		t = string(r[:255])
	}
	return t
}

// handleRead answers a read: list, get or delta.
func (s *Sandbox) handleRead(w http.ResponseWriter, r *http.Request, rt route, mailbox string, access readAccess) *graphError {
	if rt.op == opDelta {
		return s.handleDelta(w, r, rt, mailbox, access)
	}
	q := r.URL.Query()
	sel, e := parseSelect(q.Get("$select"), access)
	if e != nil {
		return e
	}
	now := s.now()
	s.mu.Lock()
	ms := s.mailbox(mailbox)
	folder := ""
	if rt.folder != "" {
		var ok bool
		if folder, ok = s.resolveFolder(ms, rt.folder); !ok {
			s.mu.Unlock()
			return gerr(http.StatusNotFound, CodeItemNotFound, "The specified object was not found in the store.")
		}
	}
	ids := s.folderIDs(ms)
	all := s.views(mailbox, now)
	s.mu.Unlock()

	var in []view
	for _, v := range all {
		if folder == "" || v.folder == folder {
			in = append(in, v)
		}
	}
	base := baseURL(r)
	if rt.op == opGet {
		for _, v := range in {
			if v.id == rt.item {
				out := render(v, sel, access, ids)
				out["@odata.context"] = base + "/$metadata#users('" + mailbox + "')/messages/$entity"
				writeGraphJSON(w, http.StatusOK, out)
				return nil
			}
		}
		return gerr(http.StatusNotFound, CodeItemNotFound, "The specified object was not found in the store.")
	}

	match, e := parseFilter(q.Get("$filter"), false)
	if e != nil {
		return e
	}
	var found []view
	for _, v := range in {
		if match(v) {
			found = append(found, v)
		}
	}
	// The docs promise no order without $orderby; the sandbox answers
	// newest first.
	sort.SliceStable(found, func(i, j int) bool { return found[i].received.After(found[j].received) })

	size, e := pageSize(r, q.Get("$top"))
	if e != nil {
		return e
	}
	skip := 0
	if raw := q.Get("$skip"); raw != "" {
		n, err := strconv.Atoi(raw)
		if err != nil || n < 0 {
			return gerr(http.StatusBadRequest, CodeBadRequest, "Invalid $skip value '%s'.", raw)
		}
		skip = n
	}
	page := []map[string]any{}
	for i := skip; i < len(found) && i < skip+size; i++ {
		page = append(page, render(found[i], sel, access, ids))
	}
	out := map[string]any{
		"@odata.context": base + "/$metadata#users('" + mailbox + "')/messages",
		"value":          page,
	}
	if skip+size < len(found) {
		q.Set("$skip", strconv.Itoa(skip+size))
		out["@odata.nextLink"] = origin(r) + r.URL.EscapedPath() + "?" + encodeQuery(q)
	}
	writeGraphJSON(w, http.StatusOK, out)
	return nil
}

// folderIDs maps the well-known folder names to the mailbox's ids. Caller
// holds s.mu.
func (s *Sandbox) folderIDs(ms *mailboxState) map[string]string {
	out := map[string]string{}
	for _, name := range wellKnownFolders {
		out[name] = s.folderID(ms, name)
	}
	return out
}

// DefaultPageSize is the page size of a list or delta without $top or
// Prefer: odata.maxpagesize: "The default page size is 10 messages" (List
// messages, https://learn.microsoft.com/en-us/graph/api/user-list-messages);
// the delta docs give none, so the same.
const DefaultPageSize = 10

// pageSize reads $top (1 to 1,000, as List messages allows) or Prefer:
// odata.maxpagesize.
func pageSize(r *http.Request, top string) (int, *graphError) {
	if top != "" {
		n, err := strconv.Atoi(top)
		if err != nil || n < 1 || n > 1000 {
			return 0, gerr(http.StatusBadRequest, CodeBadRequest, "Invalid $top value '%s': use 1 to 1000.", top)
		}
		return n, nil
	}
	if n := maxPageSize(r); n > 0 {
		return n, nil
	}
	return DefaultPageSize, nil
}

// maxPageSize is the Prefer: odata.maxpagesize={x} of the request, or 0.
func maxPageSize(r *http.Request) int {
	for _, h := range r.Header.Values("Prefer") {
		for _, p := range strings.Split(h, ",") {
			k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "odata.maxpagesize") {
				if n, err := strconv.Atoi(strings.Trim(strings.TrimSpace(v), `"`)); err == nil && n > 0 {
					return n
				}
			}
		}
	}
	return 0
}

// baseURL is the sandbox's /v1.0 root as the client reached it, for the
// links Graph answers with.
func baseURL(r *http.Request) string { return origin(r) + "/v1.0" }

func origin(r *http.Request) string {
	if r.TLS != nil {
		return "https://" + r.Host
	}
	return "http://" + r.Host
}

// encodeQuery encodes query options keeping "$" readable, as Graph's links
// do.
func encodeQuery(q url.Values) string { return strings.ReplaceAll(q.Encode(), "%24", "$") }

func writeGraphJSON(w http.ResponseWriter, status int, v any) {
	b, _ := json.Marshal(v)
	h := w.Header()
	h.Set("Content-Type", "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// parseFilter reads the $filter clauses the sandbox models, joined by
// "and": internetMessageId eq '…', conversationId eq '…', isDraft eq
// true|false, and receivedDateTime, sentDateTime or createdDateTime with
// eq, ge, gt, le or lt and an ISO 8601 time. String literals use OData
// quoting (a quote inside is doubled). For delta only receivedDateTime
// ge|gt is allowed, as documented (https://learn.microsoft.com/en-us/graph/delta-query-messages).
// Anything else is 400 ErrorInvalidUrlQueryFilter, naming what the sandbox
// reads.
func parseFilter(raw string, delta bool) (func(view) bool, *graphError) {
	if strings.TrimSpace(raw) == "" {
		return func(view) bool { return true }, nil
	}
	bad := func() *graphError {
		if delta {
			return gerr(http.StatusBadRequest, CodeInvalidURLQueryFilter, "The query filter contains one or more invalid nodes. Delta supports only receivedDateTime ge or gt {time}.")
		}
		return gerr(http.StatusBadRequest, CodeInvalidURLQueryFilter, "The query filter contains one or more invalid nodes. The sandbox reads internetMessageId eq '…', conversationId eq '…', isDraft eq true|false and receivedDateTime, sentDateTime or createdDateTime compared with a time, joined by 'and'.")
	}
	var tests []func(view) bool
	rest := strings.TrimSpace(raw)
	for rest != "" {
		name, after, ok := strings.Cut(rest, " ")
		if !ok {
			return nil, bad()
		}
		op, after, ok := strings.Cut(strings.TrimLeft(after, " "), " ")
		if !ok {
			return nil, bad()
		}
		after = strings.TrimLeft(after, " ")
		var lit string
		quoted := strings.HasPrefix(after, "'")
		if quoted {
			i := 1
			var b strings.Builder
			for ; i < len(after); i++ {
				if after[i] == '\'' {
					if i+1 < len(after) && after[i+1] == '\'' {
						b.WriteByte('\'')
						i++
						continue
					}
					break
				}
				b.WriteByte(after[i])
			}
			if i >= len(after) {
				return nil, bad()
			}
			lit, rest = b.String(), strings.TrimSpace(after[i+1:])
		} else {
			lit, rest, _ = strings.Cut(after, " ")
			rest = strings.TrimSpace(rest)
		}
		if rest != "" {
			conj, tail, _ := strings.Cut(rest, " ")
			if !strings.EqualFold(conj, "and") || strings.TrimSpace(tail) == "" {
				return nil, bad()
			}
			rest = strings.TrimSpace(tail)
		}
		op = strings.ToLower(op)
		test, ok := clause(strings.ToLower(name), op, lit, quoted, delta)
		if !ok {
			return nil, bad()
		}
		tests = append(tests, test)
	}
	return func(v view) bool {
		for _, t := range tests {
			if !t(v) {
				return false
			}
		}
		return true
	}, nil
}

func clause(name, op, lit string, quoted, delta bool) (func(view) bool, bool) {
	if delta && (name != "receiveddatetime" || op != "ge" && op != "gt") {
		return nil, false
	}
	switch name {
	case "internetmessageid", "conversationid":
		if op != "eq" || !quoted {
			return nil, false
		}
		if name == "internetmessageid" {
			return func(v view) bool { return v.internetMessageID == lit }, true
		}
		return func(v view) bool { return v.conversationID == lit }, true
	case "isdraft":
		if op != "eq" || quoted || lit != "true" && lit != "false" {
			return nil, false
		}
		want := lit == "true"
		return func(v view) bool { return v.isDraft == want }, true
	case "receiveddatetime", "sentdatetime", "createddatetime":
		t, err := time.Parse(time.RFC3339, lit)
		if err != nil || quoted {
			return nil, false
		}
		get := func(v view) time.Time { return v.received }
		if name == "sentdatetime" {
			get = func(v view) time.Time { return v.sent }
		} else if name == "createddatetime" {
			get = func(v view) time.Time { return v.created }
		}
		// Graph compares the whole seconds it shows.
		cmp := func(v view) int { return get(v).Truncate(time.Second).Compare(t) }
		switch op {
		case "eq":
			return func(v view) bool { return cmp(v) == 0 }, true
		case "ge":
			return func(v view) bool { return cmp(v) >= 0 }, true
		case "gt":
			return func(v view) bool { return cmp(v) > 0 }, true
		case "le":
			return func(v view) bool { return cmp(v) <= 0 }, true
		case "lt":
			return func(v view) bool { return cmp(v) < 0 }, true
		}
	}
	return nil, false
}
