package graphsandbox

import (
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// graphError is an error answered in Graph's JSON shape.
type graphError struct {
	status     int
	code       string
	message    string
	retryAfter int // seconds; 0: no Retry-After header
}

func (e *graphError) Error() string { return fmt.Sprintf("%d %s: %s", e.status, e.code, e.message) }

func gerr(status int, code, format string, args ...any) *graphError {
	return &graphError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// Graph error codes and messages the sandbox answers with.
const (
	CodeInvalidAuthenticationToken = "InvalidAuthenticationToken"
	CodeAccessDenied               = "ErrorAccessDenied"
	CodeInvalidHeader              = "InvalidInternetMessageHeader"
	CodeInvalidRecipients          = "ErrorInvalidRecipients"
	CodeInvalidRequest             = "ErrorInvalidRequest"
	CodeRequestBodyRead            = "RequestBodyRead"
	CodeBadRequest                 = "BadRequest"
	CodeRequestEntityTooLarge      = "RequestEntityTooLarge"
	CodeAttachmentSizeLimit        = "ErrorAttachmentSizeLimitExceeded"
	CodeExceededMessageLimit       = "ErrorExceededMessageLimit"
	CodeApplicationThrottled       = "ApplicationThrottled"
	CodeTooManyRequests            = "TooManyRequests"
	CodeSubmissionQuotaExceeded    = "ErrorSubmissionQuotaExceeded"
	CodeServiceUnavailable         = "ServiceUnavailable"
	CodeGatewayTimeout             = "GatewayTimeout"
	CodeResourceNotFound           = "ResourceNotFound"
	CodeInvalidUser                = "ErrorInvalidUser"
	CodeUnknownError               = "UnknownError"
	CodeItemNotFound               = "ErrorItemNotFound"
	CodeInvalidInternetMessageID   = "ErrorInvalidInternetMessageId"
	CodeInvalidURLQueryFilter      = "ErrorInvalidUrlQueryFilter"
	CodeParseURI                   = "RequestBroker--ParseUri"
	CodeSyncStateNotFound          = "syncStateNotFound"

	MsgEmptyToken   = "Access token is empty."
	MsgAccessDenied = "Access is denied. Check credentials and try again."
	MsgTooLarge     = "The maximum request length supported is 4MB."
	MsgConcurrency  = "Application is over its MailboxConcurrency limit."
)

func (s *Sandbox) writeError(w http.ResponseWriter, rc *reqCtx, e *graphError) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	if e.retryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(e.retryAfter))
	}
	if e.status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`)
	}
	body := map[string]any{"error": map[string]any{
		"code":    e.code,
		"message": e.message,
		"innerError": map[string]string{
			"date":              s.now().UTC().Format("2006-01-02T15:04:05"),
			"request-id":        rc.requestID,
			"client-request-id": rc.clientRequestID,
		},
	}}
	b, _ := json.Marshal(body)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(e.status)
	_, _ = w.Write(b)
}

func (s *Sandbox) serveGraph(w http.ResponseWriter, r *http.Request, rc *reqCtx) {
	if e := s.handle(w, r, rc); e != nil {
		s.writeError(w, rc, e)
	}
}

// handle answers a Graph request. It returns an error to answer, or nil
// when it has answered.
func (s *Sandbox) handle(w http.ResponseWriter, r *http.Request, rc *reqCtx) *graphError {
	// Graph authenticates before it resolves the path.
	token, ok := bearer(r.Header.Get("Authorization"))
	if !ok {
		return gerr(http.StatusUnauthorized, CodeInvalidAuthenticationToken, MsgEmptyToken)
	}
	if expired(token, time.Now()) {
		return gerr(http.StatusUnauthorized, CodeInvalidAuthenticationToken, "Lifetime validation failed, the token is expired.")
	}
	app := isAppToken(token)
	var mailbox string
	if !app {
		m, err := s.authorize(r, token)
		if err != nil || strings.TrimSpace(m) == "" {
			msg := "Access token validation failure."
			if err != nil {
				msg += " " + err.Error()
			}
			return gerr(http.StatusUnauthorized, CodeInvalidAuthenticationToken, "%s", msg)
		}
		mailbox = normalizeMailbox(m)
	}

	rt, e := parseRoute(r.URL.Path)
	if e != nil {
		return e
	}
	if method := rt.method(); r.Method != method {
		w.Header().Set("Allow", method)
		return gerr(http.StatusMethodNotAllowed, CodeBadRequest, "Specified HTTP method is not supported for the request resource.")
	}
	switch {
	case app:
		if mailbox, e = s.appMailbox(token, rt); e != nil {
			return e
		}
	case rt.isUser && !sameMailbox(rt.user, mailbox, token):
		return gerr(http.StatusForbidden, CodeAccessDenied, MsgAccessDenied)
	}
	var access readAccess
	if rt.op != opSend {
		if access = readPermission(token, app); access == noRead {
			return gerr(http.StatusForbidden, CodeAccessDenied, MsgAccessDenied)
		}
	}

	release, e := s.acquire(mailbox)
	if e != nil {
		return e
	}
	defer release()

	op := OpSend
	if rt.op != opSend {
		op = OpRead
	}
	f := s.takeFaults(mailbox, op)
	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return nil // the client is gone
		case <-s.done:
			t.Stop()
			return &graphError{status: http.StatusServiceUnavailable, code: CodeServiceUnavailable, message: "The sandbox is shutting down.", retryAfter: 1}
		}
	}
	if f.status != nil {
		drain(r.Body)
		return f.status
	}
	if rt.op != opSend {
		return s.handleRead(w, r, rt, mailbox, access)
	}

	raw, e := s.readBody(r)
	if e != nil {
		return e
	}
	msg, e := s.parseRequest(r.Header.Get("Content-Type"), raw)
	if e != nil {
		return e
	}
	if e := s.accept(mailbox, rc, msg, f.timeout != nil); e != nil {
		return e
	}
	if f.timeout != nil {
		return f.timeout
	}
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// clockSkew is the leeway Microsoft's token validation allows on exp
// (Microsoft.IdentityModel's default).
const clockSkew = 5 * time.Minute

// expired reports whether the token's exp claim, when it has one, passed
// more than clockSkew before now.
func expired(token string, now time.Time) bool {
	c, err := decodeClaims(token)
	if err != nil {
		return false
	}
	exp, ok := c["exp"].(float64)
	return ok && now.After(time.Unix(int64(exp), 0).Add(clockSkew))
}

// isAppToken reports whether token is an application-permission token:
// idtyp "app", or roles without scp and without a user.
func isAppToken(token string) bool {
	c, err := decodeClaims(token)
	if err != nil {
		return false
	}
	if c["idtyp"] == "app" {
		return true
	}
	_, roles := c["roles"]
	_, scp := c["scp"]
	_, upn := c["upn"]
	_, pun := c["preferred_username"]
	return roles && !scp && !upn && !pun
}

// appMailbox resolves the mailbox an application token acts on: the user
// named in /users/{id}, in the token's tenant, when the token holds an
// application role that allows the request (Mail.Send to send; see
// readPermission to read).
func (s *Sandbox) appMailbox(token string, rt route) (string, *graphError) {
	if !rt.isUser {
		return "", gerr(http.StatusBadRequest, CodeBadRequest, "/me request is only valid with delegated authentication flow.")
	}
	c, _ := decodeClaims(token)
	roles, _ := c["roles"].([]any)
	if rt.op == opSend && !slices.Contains(roles, any("Mail.Send")) {
		return "", gerr(http.StatusForbidden, CodeAccessDenied, MsgAccessDenied)
	}
	tid, _ := c["tid"].(string)
	if s.resolveUser == nil {
		return "", gerr(http.StatusNotFound, CodeInvalidUser, "The requested user '%s' is invalid.", rt.user)
	}
	address, ok := s.resolveUser(tid, rt.user)
	if !ok || strings.TrimSpace(address) == "" {
		return "", gerr(http.StatusNotFound, CodeInvalidUser, "The requested user '%s' is invalid.", rt.user)
	}
	return normalizeMailbox(address), nil
}

// readAccess is what a token may read of messages.
type readAccess int

const (
	noRead    readAccess = iota
	readBasic            // Mail.ReadBasic: no body, bodyPreview, uniqueBody, attachments
	readFull             // Mail.Read or Mail.ReadWrite
)

// readPermission is what the token may read. Get message, List messages and
// delta need, delegated, Mail.ReadBasic (least privileged), Mail.Read or
// Mail.ReadWrite in scp; application, Mail.ReadBasic.All (or
// Mail.ReadBasic), Mail.Read or Mail.ReadWrite in roles
// (https://learn.microsoft.com/en-us/graph/api/message-get#permissions,
// https://learn.microsoft.com/en-us/graph/api/message-delta#permissions).
// Mail.ReadBasic "Allows the app to read email in the signed-in user's
// mailbox, except for body, bodyPreview, uniqueBody, attachments,
// extensions, and any extended properties."
// (https://learn.microsoft.com/en-us/graph/permissions-reference#mailreadbasic).
// Mail.Send alone reads nothing: 403 ErrorAccessDenied.
func readPermission(token string, app bool) readAccess {
	c, _ := decodeClaims(token)
	var granted []string
	if app {
		roles, _ := c["roles"].([]any)
		for _, r := range roles {
			if s, ok := r.(string); ok {
				granted = append(granted, s)
			}
		}
	} else {
		scp, _ := c["scp"].(string)
		granted = strings.Fields(scp)
	}
	access := noRead
	for _, g := range granted {
		switch strings.ToLower(g) {
		case "mail.read", "mail.readwrite":
			return readFull
		case "mail.readbasic":
			access = readBasic
		case "mail.readbasic.all":
			if app {
				access = readBasic
			}
		}
	}
	return access
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(h string) (string, bool) {
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	return tok, tok != ""
}

// routeOp is what a Graph path asks for.
type routeOp int

const (
	opSend  routeOp = iota // POST …/sendMail
	opList                 // GET …/messages, …/mailFolders/{f}/messages
	opGet                  // GET …/messages/{id}, …/mailFolders/{f}/messages/{id}
	opDelta                // GET …/mailFolders/{f}/messages/delta
)

// route is a parsed Graph path.
type route struct {
	isUser bool   // /users/{id}, else /me
	user   string // the {id} of /users/{id}
	op     routeOp
	folder string // the {f} of …/mailFolders/{f}/…, as given; "" for /messages
	item   string // the {id} of …/messages/{id}
	// prefix is the path up to the mailbox (/v1.0/me or /v1.0/users/{id}),
	// for the links Graph answers with.
	prefix string
}

func (rt route) method() string {
	if rt.op == opSend {
		return http.MethodPost
	}
	return http.MethodGet
}

// parseRoute accepts, under /v1.0/me and /v1.0/users/{id}: sendMail,
// messages, messages/{id}, mailFolders/{f}/messages,
// mailFolders/{f}/messages/{id} and mailFolders/{f}/messages/delta. Graph
// path segments are case-insensitive, functions and actions may be
// namespace qualified, and a key may be given in parentheses
// (mailFolders('inbox')).
func parseRoute(p string) (route, *graphError) {
	var segs []string
	for _, seg := range strings.Split(strings.Trim(p, "/"), "/") {
		// name('key') is name/key.
		if i := strings.Index(seg, "("); i > 0 && strings.HasSuffix(seg, ")") {
			segs = append(segs, seg[:i])
			// A function called with no arguments (delta(), as the SDK
			// writes it) has no key.
			if key := strings.Trim(seg[i+1:len(seg)-1], "'"); key != "" {
				segs = append(segs, key)
			}
			continue
		}
		segs = append(segs, seg)
	}
	is := func(seg, name string) bool {
		return strings.EqualFold(seg, name) || strings.EqualFold(seg, "microsoft.graph."+name)
	}
	notFound := func(seg string) *graphError {
		return gerr(http.StatusNotFound, CodeResourceNotFound, "Resource not found for the segment '%s'.", seg)
	}
	if len(segs) == 0 || !strings.EqualFold(segs[0], "v1.0") {
		return route{}, gerr(http.StatusNotFound, CodeResourceNotFound, "Invalid version: %s", segs[0])
	}
	var rt route
	var rest []string
	switch {
	case len(segs) >= 2 && strings.EqualFold(segs[1], "me"):
		rt.prefix, rest = "/v1.0/me", segs[2:]
	case len(segs) >= 3 && strings.EqualFold(segs[1], "users") && segs[2] != "":
		id := segs[2]
		if len(id) >= 2 && id[0] == '\'' && id[len(id)-1] == '\'' {
			id = id[1 : len(id)-1]
		}
		rt.isUser, rt.user, rt.prefix, rest = true, id, "/v1.0/users/"+url.PathEscape(id), segs[3:]
	case len(segs) > 1:
		return route{}, notFound(segs[1])
	default:
		return route{}, notFound(segs[0])
	}
	if len(rest) >= 3 && is(rest[0], "mailFolders") && rest[1] != "" && is(rest[2], "messages") {
		rt.folder, rest = rest[1], rest[2:]
	} else if len(rest) >= 1 && is(rest[0], "mailFolders") {
		if len(rest) < 3 {
			return route{}, notFound(rest[len(rest)-1])
		}
		return route{}, notFound(rest[2])
	}
	switch {
	case len(rest) == 1 && rt.folder == "" && is(rest[0], "sendMail"):
		rt.op = opSend
	case len(rest) == 1 && is(rest[0], "messages"):
		rt.op = opList
	case len(rest) == 2 && is(rest[0], "messages") && rt.folder != "" && is(rest[1], "delta"):
		rt.op = opDelta
	case len(rest) == 2 && is(rest[0], "messages") && rest[1] != "":
		rt.op, rt.item = opGet, rest[1]
	case len(rest) == 0:
		return route{}, notFound(segs[len(segs)-1])
	case len(rest) > 2 && is(rest[0], "messages"):
		return route{}, notFound(rest[2])
	default:
		return route{}, notFound(rest[0])
	}
	return rt, nil
}

// sameMailbox reports whether /users/{id} names the token's mailbox: the
// id is its address (case-insensitive) or its object id (the oid claim).
func sameMailbox(id, mailbox, token string) bool {
	if strings.EqualFold(id, mailbox) {
		return true
	}
	if isGUID(id) {
		oid := tokenClaim(token, "oid")
		return oid != "" && strings.EqualFold(oid, id)
	}
	return false
}

func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
				return false
			}
		}
	}
	return true
}

// DecodeTokenMailbox is the default Options.Authorize: it reads the
// preferred_username (v2) or upn (v1) claim of a JWT without verifying it.
// Production verification happens in the real Graph; the sandbox only needs
// to know whose mailbox the token acts for.
func DecodeTokenMailbox(token string) (string, error) {
	claims, err := decodeClaims(token)
	if err != nil {
		return "", err
	}
	for _, k := range []string{"preferred_username", "upn"} {
		if v, ok := claims[k].(string); ok && strings.TrimSpace(v) != "" {
			return strings.TrimSpace(v), nil
		}
	}
	return "", errors.New("the token has neither preferred_username nor upn")
}

func decodeClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, errors.New("JWT is not well formed.")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("JWT payload is not base64url.")
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, errors.New("JWT payload is not JSON.")
	}
	return claims, nil
}

func tokenClaim(token, name string) string {
	c, err := decodeClaims(token)
	if err != nil {
		return ""
	}
	v, _ := c[name].(string)
	return v
}

// normalizeMailbox is the key of a mailbox: trimmed, lower case.
func normalizeMailbox(m string) string { return strings.ToLower(strings.TrimSpace(m)) }

// readBody reads the request body, gunzipping it when Content-Encoding says
// gzip (msgraph-sdk-go's default), and enforces the 4 MB request limit on
// the decompressed bytes.
func (s *Sandbox) readBody(r *http.Request) ([]byte, *graphError) {
	var src io.Reader = r.Body
	switch enc := strings.ToLower(strings.TrimSpace(r.Header.Get("Content-Encoding"))); enc {
	case "", "identity":
	case "gzip", "x-gzip":
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			drain(r.Body)
			return nil, gerr(http.StatusBadRequest, CodeBadRequest, "The request body is not valid gzip: %v", err)
		}
		defer zr.Close()
		src = zr
	default:
		drain(r.Body)
		return nil, gerr(http.StatusUnsupportedMediaType, CodeBadRequest, "Content-Encoding '%s' is not supported.", enc)
	}
	b, err := io.ReadAll(io.LimitReader(src, int64(s.maxReq)+1))
	if err != nil {
		drain(r.Body)
		return nil, gerr(http.StatusBadRequest, CodeBadRequest, "The request body could not be read: %v", err)
	}
	if len(b) > s.maxReq {
		drain(r.Body)
		e := gerr(http.StatusRequestEntityTooLarge, CodeRequestEntityTooLarge, MsgTooLarge)
		if s.maxReq != DefaultMaxRequestBytes {
			e.message = fmt.Sprintf("The maximum request length supported is %d bytes.", s.maxReq)
		}
		return nil, e
	}
	return b, nil
}

// drain reads what is left of a request body (up to 64 MB) so that the
// client reads our answer rather than a reset connection.
func drain(r io.Reader) { _, _ = io.Copy(io.Discard, io.LimitReader(r, 64<<20)) }

// retryAfterSeconds rounds a wait up to whole seconds, at least 1.
func retryAfterSeconds(d time.Duration) int {
	if d <= 0 {
		return 1
	}
	n := int(math.Ceil(d.Seconds()))
	if n < 1 {
		n = 1
	}
	return n
}
