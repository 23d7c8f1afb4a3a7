package grant

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"

	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"

	"mailmerge/handler/internal/apperr"
)

// class is what an Entra failure means for us.
type class int

const (
	classInternal  class = iota // our configuration or a bug
	classGrant                  // the user's grant: consent, revocation, expiry
	classTransient              // Entra unreachable, throttling or failing
)

// classify reads a token request's error: ours (httpError) or MSAL's,
// which comes as a CallErr with the response, whose body is Entra's JSON.
func classify(err error) (class, entraError) {
	status, e, ok := answered(err)
	if ok {
		switch {
		case status == http.StatusTooManyRequests || status >= 500 || e.Code == "temporarily_unavailable":
			return classTransient, e
		case e.Code == "invalid_grant" || e.Code == "interaction_required" || e.Code == "consent_required":
			return classGrant, e
		}
		return classInternal, e
	}
	var ue *url.Error
	var ne net.Error
	if errors.As(err, &ue) || errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return classTransient, entraError{}
	}
	return classInternal, entraError{}
}

// answered returns the status and error of a token request Entra answered.
func answered(err error) (int, entraError, bool) {
	var he *httpError
	if errors.As(err, &he) {
		return he.status, he.entra, true
	}
	var ce msalerrors.CallErr
	if errors.As(err, &ce) && ce.Resp != nil {
		var e entraError
		if ce.Resp.Body != nil {
			body, _ := io.ReadAll(io.LimitReader(ce.Resp.Body, 64<<10))
			_ = json.Unmarshal(body, &e)
		}
		return ce.Resp.StatusCode, e, true
	}
	return 0, entraError{}, false
}

// cause is a short description of an Entra failure for logs: the error,
// suberror and AADSTS codes, never the request (which holds the secret and
// the assertion).
func cause(err error, e entraError) error {
	if e.Code == "" {
		return err
	}
	return fmt.Errorf("entra: %s %s %v", e.Code, e.SubError, e.ErrorCodes)
}

// captureError is what Capture returns for an MSAL error.
func captureError(err error) error {
	if apperr.KindOf(err) != apperr.Internal {
		return err // storage's own kinds
	}
	c, e := classify(err)
	switch c {
	case classGrant:
		return apperr.Wrap(cause(err, e), apperr.Unauthorized, CodeConsentRequired, consentMessage)
	case classTransient:
		return unavailable(cause(err, e))
	}
	return fmt.Errorf("grant: on-behalf-of: %w", cause(err, e))
}

// tokenError is what a credential's GetToken returns for an MSAL error.
func tokenError(err error) error {
	if apperr.KindOf(err) != apperr.Internal {
		return err
	}
	c, e := classify(err)
	switch c {
	case classGrant:
		return expired(cause(err, e))
	case classTransient:
		return unavailable(cause(err, e))
	}
	return fmt.Errorf("grant: token: %w", cause(err, e))
}

// consent reports whether Entra refused for want of consent to the scope
// asked for (AADSTS65001, suberror consent_required) or of an
// administrator's (AADSTS90094, 90095), rather than for the grant itself
// (expired, revoked).
func (e entraError) consent() bool {
	return e.SubError == "consent_required" || e.Code == "consent_required" || e.has(65001) || e.adminOnly()
}

// adminOnly reports whether Entra said only an administrator may consent:
// AADSTS90094 (AdminConsentRequired) or 90095 (the admin consent
// workflow's "ask your administrator"), learn.microsoft.com/entra/
// identity-platform/reference-error-codes.
func (e entraError) adminOnly() bool { return e.has(90094) || e.has(90095) }

func (e entraError) has(code int) bool { return slices.Contains(e.ErrorCodes, code) }

// notAllowed is the error of a permission beyond sending that was not
// allowed (NotAllowed reports it).
func notAllowed(err error, e entraError) error {
	if e.adminOnly() {
		return apperr.Wrap(err, apperr.Unauthorized, CodeAdminConsent,
			"your organisation lets only its administrator allow this permission; ask them to allow it for Mail Merge")
	}
	return apperr.Wrap(err, apperr.Unauthorized, CodeScopeConsent,
		"you have not allowed this permission yet; accept Microsoft's request for it, then try again")
}

// scopeTokenError is tokenError for a token of scope: for a permission
// beyond sending, a want of consent is that (NotAllowed), not a lost
// grant; for sending it is the grant's end, as before (Expired), so that
// campaigns pause and the person is told.
func scopeTokenError(scope string, err error) error {
	if apperr.KindOf(err) == apperr.Internal && scope != MailSend && scope != AppScope {
		if c, e := classify(err); c == classGrant && e.consent() {
			return notAllowed(cause(err, e), e)
		}
	}
	return tokenError(err)
}

// consentMessage tells the user how to give the grant.
const consentMessage = "Microsoft 365 did not let the add-in send mail as you. Close the add-in, open it again and accept the request to send mail as you; if your organisation requires it, ask your administrator to consent to the add-in."

// expired is the error Expired reports.
func expired(err error) error {
	return apperr.Wrap(err, apperr.Unauthorized, CodeExpired,
		"the permission to send mail as you has expired; open the add-in again to resume sending")
}

func unavailable(err error) error {
	return apperr.Wrap(err, apperr.Transient, CodeUnavailable, "Microsoft sign-in is not available right now; try again in a minute")
}
