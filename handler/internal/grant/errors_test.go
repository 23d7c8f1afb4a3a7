package grant

import (
	"testing"

	"mailmerge/handler/internal/apperr"
)

// TestScopeTokenError: what Entra answers a token request for a
// permission beyond sending becomes: the person's consent to ask for, the
// administrator's, or (for anything else, and always for sending) the
// errors of before.
func TestScopeTokenError(t *testing.T) {
	for _, c := range []struct {
		name  string
		scope string
		entra entraError
		want  string
	}{
		{"consent missing", MailReadBasic, entraError{Code: "invalid_grant", SubError: "consent_required", ErrorCodes: []int{65001}}, CodeScopeConsent},
		{"65001 alone", MailReadBasic, entraError{Code: "invalid_grant", ErrorCodes: []int{65001}}, CodeScopeConsent},
		{"administrator's consent", MailReadBasic, entraError{Code: "invalid_grant", ErrorCodes: []int{90094}}, CodeAdminConsent},
		{"admin consent workflow", MailReadBasic, entraError{Code: "invalid_grant", ErrorCodes: []int{90095}}, CodeAdminConsent},
		{"revoked", MailReadBasic, entraError{Code: "invalid_grant", SubError: "bad_token", ErrorCodes: []int{50173}}, CodeExpired},
		{"sending's consent withdrawn", MailSend, entraError{Code: "invalid_grant", SubError: "consent_required", ErrorCodes: []int{65001}}, CodeExpired},
		{"throttled", MailReadBasic, entraError{Code: "temporarily_unavailable"}, CodeUnavailable},
	} {
		err := scopeTokenError(c.scope, &httpError{status: 400, entra: c.entra})
		if got := apperr.CodeOf(err); got != c.want {
			t.Errorf("%s: %s, want %s (%v)", c.name, got, c.want, err)
		}
	}
}
