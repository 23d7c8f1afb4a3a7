package store

import (
	"context"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"mailmerge/handler/internal/account"
)

// What the mailbox reader (worker/mailbox_read.go) asks of storage besides
// the rows it marks: whose inbox to read, and the campaigns' counts.

// SourceBounce is the Suppression.Source of an address that a message
// of ours could not be delivered to (a non-delivery report in the
// sender's inbox).
const SourceBounce = "bounce"

// AccountsReading lists the accounts whose owners let us read their
// mailbox (Account.ReadMailbox), those being deleted left out. It is a
// scan of the accounts across partitions, filtered by the service.
func (s *Store) AccountsReading(ctx context.Context) ([]Account, error) {
	var out []Account
	err := s.query(ctx, tableAccounts, "ReadMailbox eq true", func(e entity) error {
		if a := accountFrom(e, e.ETag); !a.Deleting() {
			out = append(out, a)
		}
		return nil
	})
	return out, err
}

// SentSince reports whether account k has a campaign that sent after
// since: one sending now, or one whose sending completed, began, or last
// stepped (a paused or cancelled one) after since. Campaigns being
// deleted do not count. It reads the account's campaigns, filtered by
// the service, until the first that does.
func (s *Store) SentSince(ctx context.Context, k account.Key, since time.Time) (bool, error) {
	t := filterTime(since)
	filter := "PartitionKey eq '" + escapeFilter(k.String()) + "' and (Status eq 'sending' or CompletedAt ge " + t +
		" or StartedAt ge " + t + " or NextStepAt ge " + t + ")"
	sel := "RowKey,DeletionRequestedAt"
	found := false
	err := s.list(ctx, tableCampaigns, &aztables.ListEntitiesOptions{Filter: &filter, Select: &sel}, func(e entity) error {
		if getTime(e, "DeletionRequestedAt").IsZero() {
			found = true
			return errStop
		}
		return nil
	})
	return found, err
}

// CountResponses adds to campaign id's counts of rows that got a reply
// (replied) and that bounced (bounced): each row is added once, by the
// reader that first marked it (MarkRecipient). A campaign deleted
// meanwhile is NotFound.
func (s *Store) CountResponses(ctx context.Context, k account.Key, id string, replied, bounced int) error {
	if replied == 0 && bounced == 0 {
		return nil
	}
	_, err := s.ModifyCampaign(ctx, k, id, func(c *Campaign) error {
		c.Replied += replied
		c.Bounced += bounced
		return nil
	})
	return err
}
