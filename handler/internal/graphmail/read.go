package graphmail

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	abs "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/models/odataerrors"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/delivery"
)

// ReadScope is the delegated permission reading needs: Mail.ReadBasic
// reads no body and no attachment (docs/mailbox-reading.md §3).
const ReadScope = "https://graph.microsoft.com/Mail.ReadBasic"

// me is the mailbox's user in Graph's paths: /me, or /users/{id}.
func (mb *Mailbox) me() *users.UserItemRequestBuilder {
	if mb.user == "" {
		return mb.graph.Me()
	}
	return mb.graph.Users().ByUserId(mb.user)
}

// FindSent looks for the message sent with messageID in the whole mailbox:
// after sendMail's 202 the message is a draft until Exchange sends it,
// then in Sent Items (docs/mailbox-reading.md §2).
func (s *Sender) FindSent(ctx context.Context, account account.Key, messageID string) (delivery.Found, error) {
	mb, err := s.reader(account)
	if err != nil {
		return delivery.Found{}, err
	}
	filter := "internetMessageId eq '" + strings.ReplaceAll(messageID, "'", "''") + "'"
	top := int32(5)
	res, err := mb.me().Messages().Get(ctx, &users.ItemMessagesRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMessagesRequestBuilderGetQueryParameters{
			Filter: &filter, Top: &top,
			Select: []string{"id", "internetMessageId", "isDraft", "sentDateTime"},
		},
	})
	if err != nil {
		return delivery.Found{}, readError(err)
	}
	var f delivery.Found
	for _, m := range res.GetValue() {
		if deref(m.GetInternetMessageId()) != messageID {
			continue
		}
		if d := m.GetIsDraft(); d != nil && *d {
			f.Waiting = true
			continue
		}
		f.Sent = true
		if t := m.GetSentDateTime(); t != nil {
			f.SentAt = t.UTC()
		}
		return f, nil
	}
	return f, nil
}

// Inbox reads what arrived in the inbox through a delta query of new
// messages, and for each one its headers (one request each: whether
// delta can select internetMessageHeaders is not documented). Only the
// sender's address and the references are kept, in memory.
func (s *Sender) Inbox(ctx context.Context, account account.Key, cursor string, since time.Time, limit int) ([]delivery.Arrived, string, error) {
	mb, err := s.reader(account)
	if err != nil {
		return nil, "", err
	}
	delta := mb.me().MailFolders().ByMailFolderId("inbox").Messages().Delta()
	cfg := &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetRequestConfiguration{Headers: abs.NewRequestHeaders()}
	cfg.Headers.Add("Prefer", "odata.maxpagesize=50")
	if cursor != "" {
		delta = delta.WithUrl(cursor)
	} else {
		changeType := "created"
		filter := "receivedDateTime ge " + since.UTC().Format(time.RFC3339)
		cfg.QueryParameters = &users.ItemMailFoldersItemMessagesDeltaRequestBuilderGetQueryParameters{
			ChangeType: &changeType, Filter: &filter,
			Select: []string{"id", "receivedDateTime", "from"},
		}
	}
	var out []delivery.Arrived
	for {
		page, err := delta.GetAsDeltaGetResponse(ctx, cfg)
		if err != nil {
			return out, cursor, readError(err)
		}
		for _, m := range page.GetValue() {
			a, err := mb.arrived(ctx, m)
			if err != nil {
				return out, cursor, err
			}
			if a.ID != "" {
				out = append(out, a)
			}
		}
		if next := deref(page.GetOdataNextLink()); next != "" {
			cursor = next
			if len(out) >= limit {
				return out, cursor, nil
			}
			delta = delta.WithUrl(next)
			cfg.QueryParameters = nil
			continue
		}
		return out, deref(page.GetOdataDeltaLink()), nil
	}
}

// arrived reads one new message's headers; a message removed meanwhile
// is skipped (ID "").
func (mb *Mailbox) arrived(ctx context.Context, m models.Messageable) (delivery.Arrived, error) {
	id := deref(m.GetId())
	if id == "" {
		return delivery.Arrived{}, nil
	}
	full, err := mb.me().Messages().ByMessageId(id).Get(ctx, &users.ItemMessagesMessageItemRequestBuilderGetRequestConfiguration{
		QueryParameters: &users.ItemMessagesMessageItemRequestBuilderGetQueryParameters{
			Select: []string{"id", "receivedDateTime", "from", "toRecipients", "internetMessageHeaders"},
		},
	})
	if err != nil {
		if err = readError(err); errors.Is(err, errGone) {
			return delivery.Arrived{}, nil
		}
		return delivery.Arrived{}, err
	}
	a := delivery.Arrived{ID: id}
	if t := full.GetReceivedDateTime(); t != nil {
		a.Received = t.UTC()
	}
	if f := full.GetFrom(); f != nil && f.GetEmailAddress() != nil {
		a.From = deref(f.GetEmailAddress().GetAddress())
	}
	contentType := ""
	headers := map[string]string{}
	for _, h := range full.GetInternetMessageHeaders() {
		name, value := strings.ToLower(deref(h.GetName())), deref(h.GetValue())
		headers[name] = value
		switch name {
		case "in-reply-to", "references":
			a.Refers = append(a.Refers, messageIDs(value)...)
		case "x-ms-exchange-message-is-ndr":
			a.Report = true
		case "content-type":
			contentType = strings.ToLower(value)
		}
	}
	a.Auto = automatic(headers)
	if a.Report {
		for _, r := range full.GetToRecipients() {
			if e := r.GetEmailAddress(); e != nil && deref(e.GetAddress()) != "" {
				a.Failed = append(a.Failed, deref(e.GetAddress()))
			}
		}
	}
	if strings.Contains(contentType, "multipart/report") && strings.Contains(contentType, "delivery-status") {
		// A delivery status notification: failed, or only delayed.
		// Exchange sets Is-Ndr on failures only (docs/mailbox-reading.md §5).
		if !a.Report {
			a.Delayed = true
		}
	}
	return a, nil
}

// automatic reports whether headers (names in lower case) are those of a
// message a program sent in answer, not a person: an out-of-office or
// other automatic reply, which is no reply to count. The standard mark is
// Auto-Submitted with any value but "no" (RFC 3834 §5); autoresponders
// also say so with Precedence auto_reply, bulk or junk and X-Autoreply or
// X-Autorespond (RFC 3834 §2 names Precedence as the older practice).
// Exchange's own out-of-office reply is told by X-Auto-Response-Suppress:
// All with X-MS-Exchange-Inbox-Rules-Loop (public code: zammad/zammad,
// app/models/channel/filter/out_of_office_check.rb). A non-delivery
// report is automatic too; the reader tells it apart first.
func automatic(headers map[string]string) bool {
	if v, ok := headers["auto-submitted"]; ok {
		kind, _, _ := strings.Cut(v, ";")
		if !strings.EqualFold(strings.TrimSpace(kind), "no") {
			return true
		}
	}
	switch strings.ToLower(strings.TrimSpace(headers["precedence"])) {
	case "auto_reply", "bulk", "junk":
		return true
	}
	if _, ok := headers["x-autoreply"]; ok {
		return true
	}
	if _, ok := headers["x-autorespond"]; ok {
		return true
	}
	_, loop := headers["x-ms-exchange-inbox-rules-loop"]
	return loop && strings.Contains(strings.ToLower(headers["x-auto-response-suppress"]), "all")
}

// messageIDs reads the <…> ids of an In-Reply-To or References header.
func messageIDs(v string) []string {
	var out []string
	for {
		i := strings.IndexByte(v, '<')
		if i < 0 {
			return out
		}
		j := strings.IndexByte(v[i:], '>')
		if j < 0 {
			return out
		}
		out = append(out, v[i:i+j+1])
		v = v[i+j+1:]
	}
}

var errGone = errors.New("not found")

// readError tells a mailbox that may not be read (401, 403), an expired
// delta token (410) and a message gone (404) from other failures.
func readError(err error) error {
	var te *TokenError
	if errors.As(err, &te) {
		// Entra briefly unavailable (or our own credentials refused) is
		// not the owner's answer: look again later. A permission not
		// given, withdrawn or expired is.
		if k := apperr.KindOf(te.Err); k == apperr.Transient || k == apperr.Internal {
			return err
		}
		return errors.Join(delivery.ErrUnreadable, err)
	}
	status := 0
	var oe *odataerrors.ODataError
	var ae *abs.ApiError
	switch {
	case errors.As(err, &oe):
		status = oe.ResponseStatusCode
	case errors.As(err, &ae):
		status = ae.ResponseStatusCode
	}
	switch status {
	case http.StatusUnauthorized, http.StatusForbidden:
		return errors.Join(delivery.ErrUnreadable, err)
	case http.StatusGone:
		return errors.Join(delivery.ErrCursorLost, err)
	case http.StatusNotFound:
		return errors.Join(errGone, err)
	}
	return err
}

// reader returns the account's Graph client for reading, made once.
func (s *Sender) reader(account account.Key) (*Mailbox, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if mb, ok := s.readers[account]; ok {
		return mb, nil
	}
	user, scope := "", ReadScope
	if s.application {
		user, scope = account.ObjectID, AppScope
	}
	mb, err := s.client.forScope(s.creds.Credential(account), user, scope)
	if err != nil {
		return nil, err
	}
	s.readers[account] = mb
	return mb, nil
}
