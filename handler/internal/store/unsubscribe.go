package store

import (
	"context"
	"fmt"
	"strings"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/tracking"
)

// tableUnsubscribeLinks keeps, for each message sent, what an unsubscribe
// from it suppresses, under the message's unsubscribe ID
// (tracking.UnsubscribeIDs): the account's tag is the partition, the
// message's tag the row. It outlives the campaign, so that the links of
// mail already read keep working after the owner deleted it, and goes
// with the account.
const (
	tableUnsubscribeLinks = "unsubscribelinks"
)

// UnsubscribeLink is what an unsubscribe from one sent message applies
// to: the account's suppression list, and the suppression keys (never the
// addresses) of everyone the message went to, To, CC and BCC.
type UnsubscribeLink struct {
	// ID is the message's unsubscribe ID.
	ID         string
	Account    account.Key
	CampaignID string
	Row        int
	Keys       []string
	// At is when the message was (about to be) sent.
	At time.Time
}

// PutUnsubscribeLink records l before its message is sent; writing the
// same again is harmless (a row sent again after Graph throttled).
func (s *Store) PutUnsubscribeLink(ctx context.Context, l UnsubscribeLink) error {
	pk, rk, ok := tracking.SplitUnsubscribeID(l.ID)
	if !ok {
		return fmt.Errorf("unsubscribe link: %q is no unsubscribe ID", l.ID)
	}
	e := newEntity(pk, rk)
	e.Properties["Account"], e.Properties["CampaignID"], e.Properties["Row"] = l.Account.String(), l.CampaignID, int32(l.Row)
	e.Properties["Keys"] = strings.Join(l.Keys, " ")
	setTime(e, "At", l.At)
	return s.replaceEntity(ctx, tableUnsubscribeLinks, e, "")
}

// UnsubscribeLinkOf reads the record of unsubscribe ID id; NotFound for
// an ID no message was sent with (or whose account was deleted).
func (s *Store) UnsubscribeLinkOf(ctx context.Context, id string) (UnsubscribeLink, error) {
	pk, rk, ok := tracking.SplitUnsubscribeID(id)
	if !ok {
		return UnsubscribeLink{}, apperr.E(apperr.NotFound, "unsubscribe_link_not_found", "no message was sent with this unsubscribe address")
	}
	e, _, err := s.getEntity(ctx, tableUnsubscribeLinks, pk, rk)
	if err != nil {
		return UnsubscribeLink{}, err
	}
	tid, oid, err := splitAccountKey(getString(e, "Account"))
	if err != nil {
		return UnsubscribeLink{}, err
	}
	return UnsubscribeLink{ID: pk + rk, Account: account.Key{TenantID: tid, ObjectID: oid}, CampaignID: getString(e, "CampaignID"),
		Row: getInt(e, "Row"), Keys: strings.Fields(getString(e, "Keys")), At: getTime(e, "At")}, nil
}
