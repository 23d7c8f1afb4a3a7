package app

import (
	"context"
	"encoding/json"
	"net/http"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/grant"
	"mailmerge/handler/internal/identity"
	"mailmerge/handler/internal/store"
)

// accountView is an account as the API shows it.
type accountView struct {
	TenantID          string    `json:"tenantId"`
	ObjectID          string    `json:"objectId"`
	Email             string    `json:"email"`
	DisplayName       string    `json:"displayName"`
	NotificationEmail string    `json:"notificationEmail"`
	Status            string    `json:"status"`
	CreatedAt         time.Time `json:"createdAt"`
	UpdatedAt         time.Time `json:"updatedAt"`
	// ReadMailbox says whether the person lets us read their mailbox for
	// replies, bounces and sends whose answer was lost.
	ReadMailbox bool `json:"readMailbox"`
	// ReadMailboxSince is when they turned it on; InboxReadAt when the
	// inbox was last read. Absent while reading is off.
	ReadMailboxSince *time.Time `json:"readMailboxSince,omitempty"`
	InboxReadAt      *time.Time `json:"inboxReadAt,omitempty"`
	// MailboxPermission says who allows reading: "delegated", the person
	// (Microsoft asks them), or "application", their organisation's
	// administrator for everyone. Absent when the service cannot read
	// mailboxes at all.
	MailboxPermission string `json:"mailboxPermission,omitempty"`
}

func viewAccount(a store.Account) accountView {
	v := accountView{
		TenantID:          a.Key.TenantID,
		ObjectID:          a.Key.ObjectID,
		Email:             a.Email,
		DisplayName:       a.DisplayName,
		NotificationEmail: a.NotificationEmail,
		Status:            "active",
		CreatedAt:         a.CreatedAt,
		UpdatedAt:         a.UpdatedAt,
	}
	if v.NotificationEmail == "" {
		v.NotificationEmail = a.Email
	}
	if a.Deleting() {
		v.Status = "deleting"
	}
	if a.ReadMailbox {
		v.ReadMailbox = true
		v.ReadMailboxSince = optionalTime(a.ReadMailboxSince)
		v.InboxReadAt = optionalTime(a.InboxReadAt)
	}
	return v
}

// view is viewAccount with what the service itself says: who allows
// reading the mailbox.
func (a *App) view(acct store.Account) accountView {
	v := viewAccount(acct)
	if c, ok := a.Grants.(mailboxConsent); ok {
		v.MailboxPermission = "delegated"
		if c.Application() {
			v.MailboxPermission = "application"
		}
	}
	return v
}

// optionalTime is t, or nil (absent in JSON) when it is zero.
func optionalTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func keyOf(p identity.Principal) account.Key {
	return account.Key{TenantID: p.TenantID, ObjectID: p.ObjectID}
}

// installRequest is what the add-in tells about its environment. Every field
// is optional; the values only go into the expiring debug entry.
type installRequest struct {
	Host         string `json:"host,omitempty"`
	Platform     string `json:"platform,omitempty"`
	HostVersion  string `json:"hostVersion,omitempty"`
	AddinVersion string `json:"addinVersion,omitempty"`
}

type installResponse struct {
	Account accountView `json:"account"`
	Created bool        `json:"created"`
	Graph   graphStatus `json:"graph"`
}

// graphStatus says whether we can send mail for the account.
type graphStatus struct {
	Consent string `json:"consent"`
	Message string `json:"message"`
}

// install creates the account on first sign-in (or refreshes its sign-in
// address) and writes an expiring debug entry about the add-in's environment.
func (a *App) install(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req installRequest
	if err := decode(w, r, &req, true); err != nil {
		return err
	}
	for _, s := range []string{req.Host, req.Platform, req.HostVersion, req.AddinVersion} {
		if utf8.RuneCountInString(s) > 100 {
			return apperr.E(apperr.Invalid, "field_too_long", "install fields are at most 100 characters")
		}
	}
	ctx := r.Context()
	now := a.Now().UTC()
	acct, created, err := a.ensureAccount(ctx, p, now)
	if err != nil {
		return err
	}
	detail, _ := json.Marshal(map[string]any{
		"host":         req.Host,
		"platform":     req.Platform,
		"hostVersion":  req.HostVersion,
		"addinVersion": req.AddinVersion,
		"userAgent":    campaign.Clip(r.UserAgent(), 300),
		"clientApp":    p.ClientApp,
		"tokenVersion": p.TokenVersion,
		"created":      created,
	})
	entry := store.DebugEntry{Kind: "install", Detail: string(detail), CreatedAt: now, ExpiresAt: now.Add(a.DebugLogRetention)}
	if err := a.Store.AddDebugEntry(ctx, acct.Key, entry); err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "install check", "created", created)
	status := http.StatusOK
	if created {
		status = http.StatusCreated
	}
	encode(w, status, installResponse{Account: a.view(acct), Created: created, Graph: a.graphConsent(r, p)})
	return nil
}

// ensureAccount returns the caller's account, creating it on first sign-in.
func (a *App) ensureAccount(ctx context.Context, p identity.Principal, now time.Time) (store.Account, bool, error) {
	for range 3 {
		acct, err := a.Store.Account(ctx, keyOf(p))
		if apperr.Is(err, apperr.NotFound) {
			acct = store.Account{Key: keyOf(p), Email: p.Email, DisplayName: p.Name, CreatedAt: now, UpdatedAt: now}
			err = a.Store.CreateAccount(ctx, acct)
			if apperr.Is(err, apperr.Conflict) {
				continue // created concurrently: read it
			}
			return acct, err == nil, err
		}
		if err != nil {
			return store.Account{}, false, err
		}
		if acct.Deleting() {
			return store.Account{}, false, apperr.E(apperr.Conflict, "account_deleting", "this account is being deleted; try again in a few minutes to start afresh")
		}
		if acct.Email == p.Email {
			return acct, false, nil
		}
		// The sign-in address changed (a renamed mailbox): keep it current.
		acct.Email, acct.UpdatedAt = p.Email, now
		err = a.Store.UpdateAccount(ctx, acct)
		if apperr.Is(err, apperr.Conflict) {
			continue
		}
		return acct, false, err
	}
	return store.Account{}, false, apperr.E(apperr.Transient, "busy", "the account changed while we were updating it; try again")
}

func (a *App) getMe(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	acct, err := a.Store.Account(r.Context(), keyOf(p))
	if err != nil {
		return err
	}
	encode(w, http.StatusOK, a.view(acct))
	return nil
}

// patchRequest holds the fields a person may correct. A null or empty
// notificationEmail goes back to the sign-in address. readMailbox turns
// reading the mailbox on or off.
type patchRequest struct {
	DisplayName       *string      `json:"displayName"`
	NotificationEmail presentValue `json:"notificationEmail"`
	ReadMailbox       *bool        `json:"readMailbox"`
}

// presentValue remembers whether a field was sent at all, null included,
// which a pointer cannot tell apart from absence.
type presentValue struct {
	Set bool
	Raw json.RawMessage
}

// UnmarshalJSON is called for every value present, null included.
func (p *presentValue) UnmarshalJSON(b []byte) error {
	p.Set, p.Raw = true, append(json.RawMessage(nil), b...)
	return nil
}

func (a *App) patchMe(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	var req patchRequest
	if err := decode(w, r, &req, false); err != nil {
		return err
	}
	name, email, err := validatePatch(req)
	if err != nil {
		return err
	}
	ctx := r.Context()
	checked := false // the permission to read, asked once per request
	for range 3 {
		acct, err := a.activeAccount(ctx, p)
		if err != nil {
			return err
		}
		if name != nil {
			acct.DisplayName = *name
		}
		if email != nil {
			acct.NotificationEmail = *email
		}
		now := a.Now().UTC()
		switch {
		case req.ReadMailbox == nil || *req.ReadMailbox == acct.ReadMailbox:
		case *req.ReadMailbox:
			if !checked {
				if refused, err := a.mayReadMailbox(w, r, p); err != nil || refused {
					return err
				}
				checked = true
			}
			acct.StartReading(now)
		default:
			acct.StopReading()
		}
		acct.UpdatedAt = now
		err = a.Store.UpdateAccount(ctx, acct)
		if apperr.Is(err, apperr.Conflict) {
			continue
		}
		if err != nil {
			return err
		}
		if req.ReadMailbox != nil {
			a.Logger.InfoContext(ctx, "mailbox reading set", "on", acct.ReadMailbox)
		}
		encode(w, http.StatusOK, a.view(acct))
		return nil
	}
	return apperr.E(apperr.Conflict, "busy", "the account kept changing; try again")
}

// mailboxConsent is what turning mailbox reading on asks of the grants
// (grant.Grants): whether the person allowed the permission to read.
type mailboxConsent interface {
	// Confirm asks Microsoft, on behalf of the caller (their token),
	// whether they allowed our app the delegated permission scope.
	Confirm(ctx context.Context, account account.Key, assertion, scope string) error
	// Application reports whether the organisation's administrator, not
	// each person, allows what the app does in mailboxes.
	Application() bool
}

// mayReadMailbox checks, before reading is turned on, that the caller
// allowed our app to read their mailbox (Mail.ReadBasic), asking Microsoft
// on their behalf. When they have not, it answers 403 itself (code
// consent_required: the web app then asks Microsoft for the permission,
// and the person sees Microsoft's consent page; or
// admin_consent_required: only their administrator can allow it) and
// returns refused. 403, not 401: the sign-in is good, a permission is
// missing. With the application permission there is no person's consent
// to check: the administrator grants Mail.ReadBasic.All to the
// organisation, and reading fails until they have (the page says so).
func (a *App) mayReadMailbox(w http.ResponseWriter, r *http.Request, p identity.Principal) (refused bool, err error) {
	c, ok := a.Grants.(mailboxConsent)
	if !ok {
		return false, apperr.E(apperr.Conflict, "reading_unavailable", "this service cannot read mailboxes; reading stays off")
	}
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") || token == "" {
		return false, apperr.E(apperr.Unauthorized, "token_missing", "send your sign-in token")
	}
	err = c.Confirm(r.Context(), keyOf(p), strings.TrimSpace(token), grant.MailReadBasic)
	switch apperr.CodeOf(err) {
	case "":
		return false, err
	case grant.CodeScopeConsent:
		a.Logger.InfoContext(r.Context(), "mailbox reading needs consent")
		encode(w, http.StatusForbidden, errorBody{Error: errorDetail{Code: "consent_required",
			Message: "Microsoft has not yet recorded your permission for Mail Merge to read your mailbox. Allow it when Microsoft asks, then turn reading on again."}})
		return true, nil
	case grant.CodeAdminConsent:
		a.Logger.InfoContext(r.Context(), "mailbox reading needs the administrator's consent")
		encode(w, http.StatusForbidden, errorBody{Error: errorDetail{Code: "admin_consent_required",
			Message: "Your organisation lets only its administrator allow apps to read mail. Ask your administrator to allow Mail Merge to read the basic details of your mail, then turn reading on again."}})
		return true, nil
	}
	return false, err
}

// validatePatch checks the corrections and returns the values to store.
func validatePatch(req patchRequest) (name, email *string, err error) {
	if req.DisplayName == nil && !req.NotificationEmail.Set && req.ReadMailbox == nil {
		return nil, nil, apperr.E(apperr.Invalid, "nothing_to_change", "there is nothing to change: give a new name, a new address for notices, or turn reading your mailbox on or off")
	}
	if req.DisplayName != nil {
		n := strings.TrimSpace(*req.DisplayName)
		switch {
		case n == "":
			return nil, nil, apperr.E(apperr.Invalid, "display_name_invalid", "your name cannot be empty")
		case utf8.RuneCountInString(n) > 100:
			return nil, nil, apperr.E(apperr.Invalid, "display_name_invalid", "your name can be at most 100 characters long")
		case strings.IndexFunc(n, unicode.IsControl) >= 0:
			return nil, nil, apperr.E(apperr.Invalid, "display_name_invalid", "your name cannot hold line breaks or other invisible characters")
		}
		name = &n
	}
	if req.NotificationEmail.Set {
		var s *string
		if err := json.Unmarshal(req.NotificationEmail.Raw, &s); err != nil {
			return nil, nil, apperr.E(apperr.Invalid, "notification_email_invalid", "the address for notices must be an email address, or empty to use your own")
		}
		e := ""
		if s != nil {
			e = strings.TrimSpace(*s)
		}
		if e != "" {
			addr, perr := mail.ParseAddress(e)
			if perr != nil || addr.Address != e || len(e) > 254 || !strings.Contains(e[strings.LastIndex(e, "@"):], ".") {
				return nil, nil, apperr.E(apperr.Invalid, "notification_email_invalid", "the address for notices must be a plain address like name@example.com")
			}
		}
		email = &e
	}
	return name, email, nil
}

// deleteMe records the deletion, marks the account, and hands the work to the
// account-delete worker. The record comes first: if anything after it fails,
// the retention timer still finds and finishes the deletion.
func (a *App) deleteMe(w http.ResponseWriter, r *http.Request, p identity.Principal) error {
	ctx := r.Context()
	acct, err := a.Store.Account(ctx, keyOf(p))
	if err != nil {
		return err
	}
	if err := a.Lifecycle.RequestAccountDeletion(ctx, acct); err != nil {
		return err
	}
	if err := a.settled(ctx, acct.Key); err != nil {
		return err
	}
	a.Logger.InfoContext(ctx, "account deletion requested")
	encode(w, http.StatusAccepted, map[string]string{"status": "deleting", "message": "your account and everything stored for it are being deleted"})
	return nil
}

// graphConsent exchanges the caller's token for lasting Graph access (the
// add-in calls install each time it opens, which renews an expired grant)
// and says whether sending from their mailbox is possible.
func (a *App) graphConsent(r *http.Request, p identity.Principal) graphStatus {
	err := a.captureGrant(r, p)
	switch {
	case err == nil:
		return graphStatus{Consent: "granted", Message: "campaigns can send from your mailbox"}
	case apperr.Is(err, apperr.Unauthorized):
		return graphStatus{Consent: "missing", Message: apperr.MessageOf(err)}
	}
	a.Logger.WarnContext(r.Context(), "graph access not checked", "error", err.Error())
	return graphStatus{Consent: "unknown", Message: "Microsoft sign-in could not be reached; try again in a minute"}
}
