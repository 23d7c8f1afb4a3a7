package graphsandbox

import (
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	alice    = "alice@contoso.com"
	aliceOID = "11111111-2222-4333-8444-555555555555"
	bob      = "bob@contoso.com"
)

// token returns an unsigned JWT with the claims, as the default
// authorizer reads them.
func token(claims map[string]any) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	p, _ := json.Marshal(claims)
	return enc.EncodeToString(h) + "." + enc.EncodeToString(p) + "." + enc.EncodeToString([]byte("sig"))
}

var (
	aliceToken = token(map[string]any{"preferred_username": "Alice@Contoso.com", "oid": aliceOID})
	bobToken   = token(map[string]any{"upn": bob, "oid": "99999999-2222-4333-8444-555555555555"})
)

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func start(t *testing.T, opts Options) (*Sandbox, *httptest.Server) {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	sb, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sb.Handler())
	t.Cleanup(func() { sb.Close(); srv.Close() })
	return sb, srv
}

// sdkBody is the body msgraph-sdk-go sends for users/{id}/sendMail
// (reference section 6): PascalCase action keys, the message's @odata.type.
const sdkBody = `{"Message":{"@odata.type":"#microsoft.graph.message",` +
	`"attachments":[{"@odata.type":"#microsoft.graph.fileAttachment","contentBytes":"SGVsbG8gV29ybGQh","contentType":"text/plain","name":"a.txt"}],` +
	`"bccRecipients":[{"emailAddress":{"address":"hidden@fabrikam.com"}}],` +
	`"body":{"content":"<p>Hello <b>Bob</b></p>","contentType":"html"},` +
	`"ccRecipients":[{"emailAddress":{"address":"carol@fabrikam.com","name":"Carol"}}],` +
	`"internetMessageHeaders":[{"name":"X-Mailmerge-Row","value":"c1-r1"}],` +
	`"singleValueExtendedProperties":[{"id":"String 0x1045","value":"<mailto:u@x>"}],` +
	`"subject":"Spring newsletter",` +
	`"toRecipients":[{"emailAddress":{"address":"bob@contoso.com","name":"Bob Smith"}}]},` +
	`"SaveToSentItems":false}`

func gz(t *testing.T, b []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) errorCode(t *testing.T) (code, message string) {
	t.Helper()
	var e struct {
		Error struct {
			Code       string            `json:"code"`
			Message    string            `json:"message"`
			InnerError map[string]string `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if e.Error.InnerError["request-id"] == "" || e.Error.InnerError["request-id"] != r.header.Get("request-id") || e.Error.InnerError["date"] == "" {
		t.Errorf("innerError %v, request-id header %q", e.Error.InnerError, r.header.Get("request-id"))
	}
	return e.Error.Code, e.Error.Message
}

// send posts a body; gzipped when zip is true, as the SDK does.
func send(t *testing.T, srv *httptest.Server, path, tok string, body []byte, zip bool) resp {
	t.Helper()
	if zip {
		body = gz(t, body)
	}
	req, err := http.NewRequest(http.MethodPost, srv.URL+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if zip {
		req.Header.Set("Content-Encoding", "gzip")
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	return do(t, req)
}

func do(t *testing.T, req *http.Request) resp {
	t.Helper()
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp{res.StatusCode, res.Header, b}
}

// msg builds a camelCase body with a message; fields override defaults.
func msg(fields map[string]any) []byte {
	m := map[string]any{
		"subject":      "Hi",
		"body":         map[string]any{"contentType": "Text", "content": "Hello"},
		"toRecipients": []any{rcpt(bob)},
	}
	for k, v := range fields {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	b, _ := json.Marshal(map[string]any{"message": m, "saveToSentItems": true})
	return b
}

func rcpt(addr string) map[string]any {
	return map[string]any{"emailAddress": map[string]any{"address": addr}}
}

func wantStatus(t *testing.T, r resp, status int) {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body %s", r.status, status, r.body)
	}
}

func wantError(t *testing.T, r resp, status int, code, message string) {
	t.Helper()
	wantStatus(t, r, status)
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	c, m := r.errorCode(t)
	if c != code || message != "" && m != message {
		t.Errorf("error %s %q, want %s %q", c, m, code, message)
	}
}

// parsedEML is an .eml read back with net/mail and mime/multipart.
type parsedEML struct {
	header mail.Header
	raw    string
	parts  []part
}

type part struct {
	contentType string
	params      map[string]string
	disposition string
	dparams     map[string]string
	contentID   string
	body        []byte
}

func readEML(t *testing.T, path string) parsedEML {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(string(raw), "\r\n") {
		if len(line) > 998 {
			t.Errorf("line %d is %d characters", i, len(line))
		}
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	out := parsedEML{header: m.Header, raw: string(raw)}
	mt, params, err := mime.ParseMediaType(m.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/mixed" {
		t.Fatalf("Content-Type %q: %v", m.Header.Get("Content-Type"), err)
	}
	out.parts = readParts(t, m.Body, params["boundary"])
	return out
}

func readParts(t *testing.T, r io.Reader, boundary string) []part {
	t.Helper()
	var out []part
	mr := multipart.NewReader(r, boundary)
	for {
		p, err := mr.NextPart()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var pt part
		pt.contentType, pt.params, _ = mime.ParseMediaType(p.Header.Get("Content-Type"))
		if pt.contentType == "multipart/related" {
			out = append(out, readParts(t, p, pt.params["boundary"])...)
			continue
		}
		if d := p.Header.Get("Content-Disposition"); d != "" {
			pt.disposition, pt.dparams, _ = mime.ParseMediaType(d)
		}
		pt.contentID = p.Header.Get("Content-ID")
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		if p.Header.Get("Content-Transfer-Encoding") == "base64" {
			b, err = base64.StdEncoding.DecodeString(strings.ReplaceAll(string(b), "\r\n", ""))
			if err != nil {
				t.Fatal(err)
			}
		}
		pt.body = b
		out = append(out, pt)
	}
}

func TestSDKShapedGzipSend(t *testing.T) {
	sb, srv := start(t, Options{})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1.0/users/alice%40contoso.com/sendMail", bytes.NewReader(gz(t, []byte(sdkBody))))
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Content-Encoding", "gzip")
	req.Header.Set("client-request-id", "abc-123")
	r := do(t, req)
	wantStatus(t, r, http.StatusAccepted)
	if len(r.body) != 0 {
		t.Errorf("body %q, want empty", r.body)
	}
	if r.header.Get("client-request-id") != "abc-123" || r.header.Get("request-id") == "" {
		t.Errorf("ids: %v", r.header)
	}

	msgs := sb.Messages("ALICE@contoso.com")
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	a := msgs[0]
	if a.Mailbox != alice || a.Subject != "Spring newsletter" || a.SaveToSentItems || a.Header("x-mailmerge-row") != "c1-r1" || a.HeaderCounts["x-mailmerge-row"] != 1 {
		t.Errorf("record %+v", a)
	}
	if got := strings.Join(a.Recipients(), ","); got != "bob@contoso.com,carol@fabrikam.com,hidden@fabrikam.com" {
		t.Errorf("recipients %s", got)
	}
	if dir := filepath.Join(sb.Dir(), alice); filepath.Dir(a.EMLPath) != dir || !strings.HasSuffix(a.EMLPath, ".eml") {
		t.Errorf("path %s, want in %s", a.EMLPath, dir)
	}
	files, _ := filepath.Glob(filepath.Join(sb.Dir(), "*", "*"))
	if len(files) != 1 {
		t.Errorf("files %v", files)
	}

	e := readEML(t, a.EMLPath)
	h := e.header
	for name, want := range map[string]string{
		"From":            "<alice@contoso.com>",
		"To":              `"Bob Smith" <bob@contoso.com>`,
		"Cc":              `"Carol" <carol@fabrikam.com>`,
		"Subject":         "Spring newsletter",
		"X-Mailmerge-Row": "c1-r1",
		"Mime-Version":    "1.0",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s: %q, want %q", name, got, want)
		}
	}
	if h.Get("Bcc") != "" || strings.Contains(e.raw, "hidden@") {
		t.Error("Bcc is in the message")
	}
	if id := h.Get("Message-Id"); id != a.MessageID || !strings.HasSuffix(id, "@sandbox.graph.local>") {
		t.Errorf("Message-ID %q (record %q)", id, a.MessageID)
	}
	if _, err := h.Date(); err != nil {
		t.Errorf("Date: %v", err)
	}
	if len(e.parts) != 2 {
		t.Fatalf("%d parts", len(e.parts))
	}
	body, att := e.parts[0], e.parts[1]
	if body.contentType != "text/html" || body.params["charset"] != "utf-8" || string(body.body) != "<p>Hello <b>Bob</b></p>" {
		t.Errorf("body part %+v %q", body, body.body)
	}
	if att.contentType != "text/plain" || att.disposition != "attachment" || att.dparams["filename"] != "a.txt" || string(att.body) != "Hello World!" {
		t.Errorf("attachment %+v %q", att, att.body)
	}
}

func TestAuthentication(t *testing.T) {
	_, srv := start(t, Options{})
	r := send(t, srv, "/v1.0/me/sendMail", "", msg(nil), false)
	wantError(t, r, http.StatusUnauthorized, CodeInvalidAuthenticationToken, "Access token is empty.")
	if r.header.Get("WWW-Authenticate") == "" || r.header.Get("request-id") == "" || r.header.Get("client-request-id") == "" {
		t.Errorf("headers %v", r.header)
	}
	r = send(t, srv, "/v1.0/me/sendMail", "not-a-jwt", msg(nil), false)
	wantError(t, r, http.StatusUnauthorized, CodeInvalidAuthenticationToken, "")
	r = send(t, srv, "/v1.0/me/sendMail", token(map[string]any{"oid": aliceOID}), msg(nil), false)
	wantError(t, r, http.StatusUnauthorized, CodeInvalidAuthenticationToken, "")
	// Expired beyond the clock skew Microsoft allows; within it, accepted.
	old := time.Now().Add(-clockSkew - time.Minute).Unix()
	r = send(t, srv, "/v1.0/me/sendMail", token(map[string]any{"upn": "alice@contoso.example", "exp": old}), msg(nil), false)
	wantError(t, r, http.StatusUnauthorized, CodeInvalidAuthenticationToken, "Lifetime validation failed, the token is expired.")
	recent := time.Now().Add(-time.Minute).Unix()
	if r := send(t, srv, "/v1.0/me/sendMail", token(map[string]any{"upn": "alice@contoso.example", "exp": recent}), msg(nil), false); r.status != http.StatusAccepted {
		t.Errorf("a token expired within the clock skew: %d %s", r.status, r.body)
	}
}

func TestCustomAuthorize(t *testing.T) {
	sb, srv := start(t, Options{Authorize: func(r *http.Request, tok string) (string, error) {
		if tok != "secret" {
			return "", fmt.Errorf("unknown token")
		}
		return "../Evil/Dan Ü@Contoso.com", nil
	}})
	wantError(t, send(t, srv, "/v1.0/me/sendMail", "other", msg(nil), false), http.StatusUnauthorized, CodeInvalidAuthenticationToken, "Access token validation failure. unknown token")
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", "secret", msg(nil), false), http.StatusAccepted)
	p := sb.Messages("")[0].EMLPath
	rel, err := filepath.Rel(sb.Dir(), p)
	if err != nil || strings.Count(rel, string(filepath.Separator)) != 1 || strings.HasPrefix(rel, ".") {
		t.Errorf("eml at %s (rel %s)", p, rel)
	}
	if folder := filepath.Dir(rel); folder != "_.._evil_dan__@contoso.com" {
		t.Errorf("folder %q", folder)
	}
}

func TestMailboxAccess(t *testing.T) {
	sb, srv := start(t, Options{})
	wantError(t, send(t, srv, "/v1.0/users/bob@contoso.com/sendMail", aliceToken, msg(nil), true),
		http.StatusForbidden, CodeAccessDenied, "Access is denied. Check credentials and try again.")
	wantError(t, send(t, srv, "/v1.0/users/99999999-2222-4333-8444-555555555555/sendMail", aliceToken, msg(nil), true),
		http.StatusForbidden, CodeAccessDenied, MsgAccessDenied)
	wantStatus(t, send(t, srv, "/v1.0/users/"+aliceOID+"/sendMail", aliceToken, msg(nil), true), http.StatusAccepted)
	wantStatus(t, send(t, srv, "/v1.0/users/ALICE@CONTOSO.COM/sendMail", aliceToken, msg(nil), true), http.StatusAccepted)
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusAccepted)
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", bobToken, msg(nil), true), http.StatusAccepted)
	if n, m := len(sb.Messages(alice)), len(sb.Messages(bob)); n != 3 || m != 1 {
		t.Errorf("alice %d, bob %d messages", n, m)
	}
}

func TestApplicationTokens(t *testing.T) {
	const contoso, fabrikam = "3b1f0d2e-7c4a-4e59-9a1b-2f6c8d4e5a01", "8e2d4c6b-1a3f-4b7e-8c9d-0f1e2d3c4b02"
	resolve := func(tid, id string) (string, bool) {
		if tid == contoso && (id == aliceOID || strings.EqualFold(id, alice)) {
			return "Alice@Contoso.com", true
		}
		return "", false
	}
	app := func(tid string, roles ...any) string {
		return token(map[string]any{"idtyp": "app", "tid": tid, "roles": roles, "oid": "5ee0e000-0000-4000-8000-000000000001"})
	}
	sb, srv := start(t, Options{ResolveUser: resolve})
	for _, tc := range []struct {
		name, path, tok string
		status          int
		code            string
	}{
		{"by object id", "/v1.0/users/" + aliceOID + "/sendMail", app(contoso, "Mail.Send"), http.StatusAccepted, ""},
		{"by address", "/v1.0/users/ALICE@contoso.com/sendMail", app(contoso, "Mail.Send"), http.StatusAccepted, ""},
		{"another tenant's token", "/v1.0/users/" + aliceOID + "/sendMail", app(fabrikam, "Mail.Send"), http.StatusNotFound, CodeInvalidUser},
		{"unknown user", "/v1.0/users/nobody@contoso.com/sendMail", app(contoso, "Mail.Send"), http.StatusNotFound, CodeInvalidUser},
		{"without the role", "/v1.0/users/" + aliceOID + "/sendMail", app(contoso, "User.Read.All"), http.StatusForbidden, CodeAccessDenied},
		{"/me", "/v1.0/me/sendMail", app(contoso, "Mail.Send"), http.StatusBadRequest, CodeBadRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := send(t, srv, tc.path, tc.tok, msg(nil), true)
			if tc.code == "" {
				wantStatus(t, r, tc.status)
				return
			}
			wantError(t, r, tc.status, tc.code, "")
		})
	}
	if got := len(sb.Messages(alice)); got != 2 {
		t.Errorf("alice's messages = %d, want 2", got)
	}

	// Without ResolveUser no user is known to an app token.
	_, plain := start(t, Options{})
	wantError(t, send(t, plain, "/v1.0/users/"+aliceOID+"/sendMail", app(contoso, "Mail.Send"), msg(nil), true), http.StatusNotFound, CodeInvalidUser, "")
}

func TestRoutes(t *testing.T) {
	_, srv := start(t, Options{})
	r := send(t, srv, "/v1.0/me/calendar", aliceToken, msg(nil), false)
	wantError(t, r, http.StatusNotFound, CodeResourceNotFound, "Resource not found for the segment 'calendar'.")
	wantError(t, send(t, srv, "/v1.0/me/mailFolders/inbox/rules", aliceToken, msg(nil), false), http.StatusNotFound, CodeResourceNotFound, "Resource not found for the segment 'rules'.")
	wantError(t, send(t, srv, "/v1.0/me/messages/x/attachments", aliceToken, msg(nil), false), http.StatusNotFound, CodeResourceNotFound, "Resource not found for the segment 'attachments'.")
	// Creating a draft is not modelled: messages answers reads only.
	r = send(t, srv, "/v1.0/me/messages", aliceToken, msg(nil), false)
	wantStatus(t, r, http.StatusMethodNotAllowed)
	if r.header.Get("Allow") != http.MethodGet {
		t.Errorf("Allow %q", r.header.Get("Allow"))
	}
	wantError(t, send(t, srv, "/beta/me/sendMail", aliceToken, msg(nil), false), http.StatusNotFound, CodeResourceNotFound, "")
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/v1.0/me/sendMail", nil)
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	wantStatus(t, do(t, req), http.StatusMethodNotAllowed)
	wantStatus(t, send(t, srv, "/v1.0/Me/SendMail", aliceToken, msg(nil), false), http.StatusAccepted)
}

func TestValidation(t *testing.T) {
	sb, srv := start(t, Options{})
	post := func(b []byte) resp { return send(t, srv, "/v1.0/me/sendMail", aliceToken, b, true) }

	wantError(t, post(msg(map[string]any{"internetMessageHeaders": []any{map[string]string{"name": "List-Unsubscribe", "value": "<mailto:u@x>"}}})),
		http.StatusBadRequest, CodeInvalidHeader, "The internet message header name 'List-Unsubscribe' should start with 'x-' or 'X-'.")
	wantError(t, post(msg(map[string]any{"toRecipients": nil})), http.StatusBadRequest, CodeInvalidRecipients, "")
	wantError(t, post(msg(map[string]any{"toRecipients": []any{}})), http.StatusBadRequest, CodeInvalidRecipients, "")
	wantError(t, post(msg(map[string]any{"ccRecipients": []any{rcpt("not an address")}})), http.StatusBadRequest, CodeInvalidRecipients, "")
	wantError(t, post(msg(map[string]any{"toRecipients": []any{rcpt("Bob <bob@contoso.com>")}})), http.StatusBadRequest, CodeInvalidRecipients, "")
	wantError(t, post([]byte(`{"Message":{"subject":`)), http.StatusBadRequest, CodeRequestBodyRead, "")
	wantError(t, post([]byte(``)), http.StatusBadRequest, CodeBadRequest, "Empty Payload. JSON content expected.")
	wantError(t, post(msg(map[string]any{"toRecipient": []any{rcpt(bob)}})), http.StatusBadRequest, CodeRequestBodyRead, "")
	wantError(t, post([]byte(`{"Message":{"toRecipients":[{"emailAddress":{"address":"b@x.com"}}]},"SaveToSent":true}`)), http.StatusBadRequest, CodeRequestBodyRead, "")
	wantError(t, post(msg(map[string]any{"attachments": []any{map[string]any{"name": "a", "contentBytes": "AA=="}}})), http.StatusBadRequest, CodeRequestBodyRead, "Cannot create an abstract class.")
	wantError(t, post(msg(map[string]any{"attachments": []any{map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "a", "contentBytes": "!!"}}})), http.StatusBadRequest, CodeRequestBodyRead, "")
	wantError(t, post(msg(map[string]any{"body": map[string]any{"contentType": "markdown", "content": "x"}})), http.StatusBadRequest, CodeRequestBodyRead, "")
	var many []any
	for i := 0; i < 1001; i++ {
		many = append(many, rcpt(fmt.Sprintf("r%d@fabrikam.com", i)))
	}
	wantError(t, post(msg(map[string]any{"bccRecipients": many[1:]})), http.StatusBadRequest, CodeExceededMessageLimit, "")
	if n := len(sb.Messages("")); n != 0 {
		t.Fatalf("%d messages accepted from invalid requests", n)
	}

	// Accepted: no body at all; 1,000 recipients; camelCase keys uncompressed.
	wantStatus(t, post(msg(map[string]any{"body": nil, "subject": nil})), http.StatusAccepted)
	wantStatus(t, post(msg(map[string]any{"bccRecipients": many[2:]})), http.StatusAccepted)
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), false), http.StatusAccepted)
	if got := sb.Messages("")[0]; got.Body != "" || got.BodyType != "text" || !got.SaveToSentItems {
		t.Errorf("empty body record %+v", got)
	}
}

func TestSizeLimits(t *testing.T) {
	_, srv := start(t, Options{})
	// 4 MB after decompression: the gzip body itself is small.
	big := msg(map[string]any{"body": map[string]any{"contentType": "text", "content": strings.Repeat("a", DefaultMaxRequestBytes)}})
	r := send(t, srv, "/v1.0/me/sendMail", aliceToken, big, true)
	wantError(t, r, http.StatusRequestEntityTooLarge, CodeRequestEntityTooLarge, "The maximum request length supported is 4MB.")
	wantError(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, big, false), http.StatusRequestEntityTooLarge, CodeRequestEntityTooLarge, MsgTooLarge)
	justUnder := msg(map[string]any{"body": map[string]any{"contentType": "text", "content": strings.Repeat("a", DefaultMaxRequestBytes-200)}})
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, justUnder, true), http.StatusAccepted)

	// With the defaults a 3 MB attachment is 4 MB of base64: 413 first.
	att := func(n int) []byte {
		return msg(map[string]any{"attachments": []any{map[string]any{
			"@odata.type": "#microsoft.graph.fileAttachment", "name": "big.bin", "contentType": "application/octet-stream",
			"contentBytes": base64.StdEncoding.EncodeToString(make([]byte, n))}}})
	}
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, att(3<<20), true), http.StatusRequestEntityTooLarge)

	_, srv2 := start(t, Options{MaxRequestBytes: 16 << 20})
	wantError(t, send(t, srv2, "/v1.0/me/sendMail", aliceToken, att(3<<20+1), true), http.StatusBadRequest, CodeAttachmentSizeLimit, "")
	wantStatus(t, send(t, srv2, "/v1.0/me/sendMail", aliceToken, att(3<<20), true), http.StatusAccepted)
}

func TestMessageRatePerMinute(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	sb, srv := start(t, Options{Now: c.Now})
	for i := 0; i < 30; i++ {
		wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusAccepted)
		c.Advance(time.Second)
	}
	// Now 09:00:30; the first send (09:00:00) leaves the window at 09:01:00.
	r := send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true)
	wantError(t, r, http.StatusTooManyRequests, CodeTooManyRequests, "")
	if ra := r.header.Get("Retry-After"); ra != "30" {
		t.Errorf("Retry-After %q, want 30", ra)
	}
	// Another mailbox is not affected.
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", bobToken, msg(nil), true), http.StatusAccepted)
	c.Advance(29*time.Second + 500*time.Millisecond)
	r = send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "1" {
		t.Errorf("at 09:00:59.5: %d Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	c.Advance(500 * time.Millisecond)
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusAccepted)
	if n := len(sb.Messages(alice)); n != 31 {
		t.Errorf("%d messages", n)
	}
}

func TestRecipientRatePerDay(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)}
	_, srv := start(t, Options{Now: c.Now, PerDay: 5})
	three := msg(map[string]any{"toRecipients": []any{rcpt("a@x.com"), rcpt("b@x.com")}, "ccRecipients": []any{rcpt("c@x.com")}})
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, three, true), http.StatusAccepted)
	c.Advance(time.Hour)
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusAccepted)
	r := send(t, srv, "/v1.0/me/sendMail", aliceToken, three, true)
	wantError(t, r, http.StatusTooManyRequests, CodeSubmissionQuotaExceeded, "")
	if ra := r.header.Get("Retry-After"); ra != strconv.Itoa(23*3600) {
		t.Errorf("Retry-After %q", ra)
	}
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusAccepted) // 5 of 5
	c.Advance(23 * time.Hour)
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, three, true), http.StatusAccepted)
}

func TestConcurrencyLimit(t *testing.T) {
	sb, srv := start(t, Options{})
	if err := sb.Inject(Fault{Kind: FaultLatency, Delay: 400 * time.Millisecond, Count: -1, Mailbox: alice}); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	results := make([]resp, 5)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true)
		}()
	}
	wg.Wait()
	var accepted, throttled int
	for _, r := range results {
		switch r.status {
		case http.StatusAccepted:
			accepted++
		case http.StatusTooManyRequests:
			throttled++
			wantError(t, r, http.StatusTooManyRequests, CodeApplicationThrottled, MsgConcurrency)
			if r.header.Get("Retry-After") == "" {
				t.Error("no Retry-After")
			}
		default:
			t.Errorf("status %d", r.status)
		}
	}
	if throttled < 1 || accepted > 4 {
		t.Errorf("%d accepted, %d throttled", accepted, throttled)
	}
	// Another mailbox has its own slots.
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", bobToken, msg(nil), true), http.StatusAccepted)
}

func TestInjectedFaults(t *testing.T) {
	sb, srv := start(t, Options{})
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(sb.Inject(Fault{Kind: FaultThrottle, RetryAfter: 2500 * time.Millisecond}))
	must(sb.Inject(Fault{Kind: FaultUnavailable, Count: 2}))
	must(sb.Inject(Fault{Kind: FaultThrottle, Mailbox: bob, RetryAfter: 7 * time.Second}))
	if err := sb.Inject(Fault{Kind: "boom"}); err == nil {
		t.Error("unknown kind accepted")
	}

	r := send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true)
	wantError(t, r, http.StatusTooManyRequests, CodeTooManyRequests, "")
	if r.header.Get("Retry-After") != "3" {
		t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
	}
	for i := 0; i < 2; i++ {
		r = send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true)
		wantError(t, r, http.StatusServiceUnavailable, CodeServiceUnavailable, "")
		if r.header.Get("Retry-After") != "1" {
			t.Errorf("503 Retry-After %q", r.header.Get("Retry-After"))
		}
	}
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusAccepted)
	r = send(t, srv, "/v1.0/me/sendMail", bobToken, msg(nil), true)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "7" {
		t.Errorf("bob: %d %q", r.status, r.header.Get("Retry-After"))
	}
	if f := sb.Faults(); len(f) != 0 {
		t.Errorf("faults left: %+v", f)
	}
	if n := len(sb.Messages("")); n != 1 {
		t.Errorf("%d messages", n)
	}
}

func TestTimeoutAfterAccept(t *testing.T) {
	sb, srv := start(t, Options{})
	if err := sb.Inject(Fault{Kind: FaultTimeoutAfterAccept}); err != nil {
		t.Fatal(err)
	}
	body := msg(map[string]any{"internetMessageHeaders": []any{map[string]string{"name": "x-mailmerge-row", "value": "c1-r7"}}})
	wantError(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, body, true), http.StatusGatewayTimeout, CodeGatewayTimeout, "")
	msgs := sb.Messages(alice)
	if len(msgs) != 1 || !msgs[0].TimedOut {
		t.Fatalf("messages %+v", msgs)
	}
	if _, err := os.Stat(msgs[0].EMLPath); err != nil {
		t.Fatal(err)
	}
	if d := sb.Duplicates(alice, "X-Mailmerge-Row"); len(d) != 0 {
		t.Errorf("duplicates %v", d)
	}
	// The retry a client would make duplicates the mail.
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, body, true), http.StatusAccepted)
	if n := sb.Count(alice, "X-MAILMERGE-ROW", "c1-r7"); n != 2 {
		t.Errorf("count %d", n)
	}
	if d := sb.Duplicates("", "x-mailmerge-row"); d["c1-r7"] != 2 || len(d) != 1 {
		t.Errorf("duplicates %v", d)
	}
	if hc := sb.Messages(alice)[0].HeaderCounts["x-mailmerge-row"]; hc != 2 {
		t.Errorf("HeaderCounts %d", hc)
	}
}

func TestControlEndpoints(t *testing.T) {
	sb, srv := start(t, Options{})
	ctl := func(method, path, body string) resp {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		return do(t, req)
	}
	r := ctl(http.MethodPost, "/_sandbox/faults", `[{"kind":"429","retryAfterSeconds":4,"mailbox":"Alice@Contoso.com"},{"kind":"latency","delayMs":20,"count":-1}]`)
	wantStatus(t, r, http.StatusCreated)
	wantStatus(t, ctl(http.MethodPost, "/_sandbox/faults", `{"kind":"nope"}`), http.StatusBadRequest)
	if r := ctl(http.MethodGet, "/_sandbox/faults", ""); !strings.Contains(string(r.body), `"delayMs": 20`) {
		t.Errorf("faults %s", r.body)
	}
	r = send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true)
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") != "4" {
		t.Errorf("%d %q", r.status, r.header.Get("Retry-After"))
	}
	wantStatus(t, ctl(http.MethodDelete, "/_sandbox/faults", ""), http.StatusNoContent)
	if len(sb.Faults()) != 0 {
		t.Error("faults not cleared")
	}
	wantStatus(t, ctl(http.MethodPost, "/_sandbox/faults", `{"kind":"504"}`), http.StatusCreated)
	body := msg(map[string]any{"subject": "Über", "ccRecipients": []any{rcpt("c@x.com")}, "bccRecipients": []any{rcpt("d@x.com")},
		"internetMessageHeaders": []any{map[string]string{"name": "X-Row", "value": "7"}}})
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, body, true), http.StatusGatewayTimeout)
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, body, true), http.StatusAccepted)
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", bobToken, msg(nil), true), http.StatusAccepted)

	r = ctl(http.MethodGet, "/_sandbox/messages?mailbox=alice@contoso.com", "")
	wantStatus(t, r, http.StatusOK)
	var list []Accepted
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Subject != "Über" || list[0].Cc[0].Address != "c@x.com" || list[0].Bcc[0].Address != "d@x.com" ||
		list[0].Header("x-row") != "7" || list[0].HeaderCounts["x-row"] != 2 || !list[0].TimedOut || list[0].EMLPath == "" {
		t.Errorf("messages %s", r.body)
	}
	r = ctl(http.MethodGet, "/_sandbox/duplicates?header=X-Row", "")
	if strings.TrimSpace(string(r.body)) != "{\n  \"7\": 2\n}" {
		t.Errorf("duplicates %s", r.body)
	}
	r = ctl(http.MethodGet, fmt.Sprintf("/_sandbox/messages/%d.eml", list[1].Seq), "")
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "message/rfc822" || !strings.Contains(string(r.body), "X-Row: 7\r\n") {
		t.Errorf("eml %d %s", r.status, r.body)
	}
	r = ctl(http.MethodGet, "/_sandbox/messages", "")
	if err := json.Unmarshal(r.body, &list); err != nil || len(list) != 3 {
		t.Errorf("all messages: %v %d", err, len(list))
	}
	wantStatus(t, ctl(http.MethodDelete, "/_sandbox/messages", ""), http.StatusNoContent)
	r = ctl(http.MethodGet, "/_sandbox/messages", "")
	if strings.TrimSpace(string(r.body)) != "[]" {
		t.Errorf("after reset %s", r.body)
	}
	wantStatus(t, ctl(http.MethodGet, "/_sandbox/nope", ""), http.StatusNotFound)
}

func TestInternationalText(t *testing.T) {
	sb, srv := start(t, Options{})
	subject := "Привет, Zoë — مرحبا بكم 👋 " + strings.Repeat("long subject words ", 6)
	html := "<p dir=\"rtl\">שלום עולם! مرحبا 🌍🎉 — نص طويل " + strings.Repeat("ب", 200) + "</p>\n<p>line two</p>"
	text := "مرحبا\r\nשלום 👋🏽 naïve café"
	b := msg(map[string]any{
		"subject":                subject,
		"body":                   map[string]any{"contentType": "HTML", "content": html},
		"toRecipients":           []any{map[string]any{"emailAddress": map[string]any{"address": bob, "name": "Jürgen Müller"}}},
		"internetMessageHeaders": []any{map[string]string{"name": "X-Campaign", "value": "Rentrée 2026"}},
		"attachments": []any{
			map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "logo.png", "contentType": "image/png", "contentBytes": "iVBORw0KGgo=", "contentId": "logo1", "isInline": true},
			map[string]any{"@odata.type": "#microsoft.graph.fileAttachment", "name": "façade résumé.pdf", "contentType": "application/pdf", "contentBytes": "JVBERi0="},
		},
	})
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, b, true), http.StatusAccepted)
	b2 := msg(map[string]any{"body": map[string]any{"contentType": "text", "content": text}})
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, b2, true), http.StatusAccepted)
	msgs := sb.Messages(alice)

	e := readEML(t, msgs[0].EMLPath)
	headerBlock, _, _ := strings.Cut(e.raw, "\r\n\r\n")
	for i := 0; i < len(headerBlock); i++ {
		if headerBlock[i] >= 0x80 {
			t.Fatalf("raw non-ASCII in headers:\n%s", headerBlock)
		}
	}
	if !strings.Contains(headerBlock, "Subject: =?utf-8?") {
		t.Errorf("subject not RFC 2047 encoded:\n%s", headerBlock)
	}
	dec := new(mime.WordDecoder)
	if got, err := dec.DecodeHeader(e.header.Get("Subject")); err != nil || got != subject {
		t.Errorf("subject %q, %v", got, err)
	}
	if got, err := dec.DecodeHeader(e.header.Get("X-Campaign")); err != nil || got != "Rentrée 2026" {
		t.Errorf("X-Campaign %q, %v", got, err)
	}
	to, err := e.header.AddressList("To")
	if err != nil || len(to) != 1 || to[0].Name != "Jürgen Müller" {
		t.Errorf("To %v, %v", to, err)
	}
	if len(e.parts) != 3 {
		t.Fatalf("%d parts", len(e.parts))
	}
	wantHTML := strings.ReplaceAll(html, "\n", "\r\n") // quoted-printable line breaks are CRLF
	if got := string(e.parts[0].body); got != wantHTML {
		t.Errorf("html body\n%q\nwant\n%q", got, wantHTML)
	}
	if p := e.parts[1]; p.disposition != "inline" || p.contentID != "<logo1>" || p.contentType != "image/png" {
		t.Errorf("inline part %+v", p)
	}
	if p := e.parts[2]; p.disposition != "attachment" || p.dparams["filename"] != "façade résumé.pdf" || string(p.body) != "%PDF-" {
		t.Errorf("attachment %+v", p)
	}
	if msgs[0].Body != html {
		t.Error("record body differs")
	}

	e = readEML(t, msgs[1].EMLPath)
	if p := e.parts[0]; p.contentType != "text/plain" || string(p.body) != text {
		t.Errorf("text body %q", p.body)
	}
}

func TestMIMESubmission(t *testing.T) {
	sb, srv := start(t, Options{})
	raw := "From: someone@else.com\r\nTo: Bob <bob@contoso.com>\r\nBcc: secret@x.com\r\nSubject: =?utf-8?q?Gr=C3=BC=C3=9Fe?=\r\nX-Row: 9\r\nContent-Type: text/plain\r\n\r\nHi\r\n"
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1.0/me/sendMail", strings.NewReader(base64.StdEncoding.EncodeToString([]byte(raw))))
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	req.Header.Set("Content-Type", "text/plain")
	wantStatus(t, do(t, req), http.StatusAccepted)
	a := sb.Messages(alice)[0]
	if a.Subject != "Grüße" || len(a.Bcc) != 1 || a.Header("X-Row") != "9" || !a.MIME {
		t.Errorf("record %+v", a)
	}
	b, _ := os.ReadFile(a.EMLPath)
	m, err := mail.ReadMessage(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if m.Header.Get("From") != "<alice@contoso.com>" || m.Header.Get("Bcc") != "" || m.Header.Get("Message-Id") == "" {
		t.Errorf("headers %v", m.Header)
	}
	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/v1.0/me/sendMail", strings.NewReader("%%%"))
	req.Header.Set("Authorization", "Bearer "+aliceToken)
	req.Header.Set("Content-Type", "text/plain")
	wantError(t, do(t, req), http.StatusBadRequest, "ErrorMimeContentInvalidBase64String", "")
}

func TestCloseAbortsLatency(t *testing.T) {
	sb, srv := start(t, Options{})
	_ = sb.Inject(Fault{Kind: FaultLatency, Delay: time.Hour})
	go func() { time.Sleep(50 * time.Millisecond); sb.Close() }()
	t0 := time.Now()
	wantStatus(t, send(t, srv, "/v1.0/me/sendMail", aliceToken, msg(nil), true), http.StatusServiceUnavailable)
	if time.Since(t0) > 10*time.Second {
		t.Error("Close did not abort the delay")
	}
}
