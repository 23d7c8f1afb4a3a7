package store

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/tracking"
)

// Where says how a Holding's things are found.
type Where int

// The kinds of holding.
const (
	// Entity: one table row (Partition, Row).
	Entity Where = iota
	// Partition: every row of one table partition.
	Partition
	// Blob: one blob (Name).
	Blob
	// Blobs: every blob whose name starts with Name.
	Blobs
)

// Holding is one place where something of an account is kept: a table
// row or partition, or blobs. The lists of holdings below are the one
// enumeration of what an account and its campaigns own: deleting an
// account or a campaign removes exactly these, and the export reads them.
type Holding struct {
	Where Where
	// Table or Container: the one of the two that Where uses.
	Table     string
	Container string
	Partition string
	Row       string
	Name      string
	// What says, for people, what is kept there, and Keep until when.
	What string
	Keep string
}

// How long things are kept, as the holdings say it.
const (
	keepCampaign = "until you delete the campaign or your account"
	keepAccount  = "until you delete your account"
)

// CampaignHoldings lists everything kept for campaign c, the campaign row
// itself last, so that an interrupted deletion can find the rest again
// from it.
func CampaignHoldings(c Campaign) []Holding {
	var hs []Holding
	if c.AddressHash != "" {
		hs = append(hs, Holding{Where: Entity, Table: tableAddresses, Partition: c.AddressHash,
			What: "a one-way fingerprint of the campaign's address, which finds the campaign when your email arrives", Keep: keepCampaign})
	}
	return append(hs,
		Holding{Where: Partition, Table: tableRecipients, Partition: c.ID,
			What: "the rows of the uploaded spreadsheet (their cells) and each row's sending state; while you let us read your mailbox, when a reply to a row's message came, or a report that it could not be delivered or was delayed (times and that kind only, never a message)", Keep: keepCampaign},
		// After the rows: an event is kept only while its row exists.
		Holding{Where: Partition, Table: tableEvents, Partition: c.ID,
			What: "opens, clicks and unsubscribes of the campaign's messages: row, time, link, the browser's name, and whether a person or a machine", Keep: keepCampaign},
		Holding{Where: Blobs, Container: ContainerUploads, Name: UploadsOf(c.Account, c.ID),
			What: "an uploaded spreadsheet", Keep: "until its rows are read (at most an hour: what is left is deleted then)"},
		Holding{Where: Blobs, Container: ContainerOriginals, Name: OriginalsOf(c.Account, c.ID),
			What: "the template email (subject, body, attachments) the campaign sends", Keep: keepCampaign},
		Holding{Where: Entity, Table: tableCampaigns, Partition: c.Account.String(), Row: c.ID,
			What: "the campaign: its name, options, state, counts, the uploaded file's name and columns, the template's subject, its address (encrypted, so that you can see it again)", Keep: keepCampaign},
	)
}

// AccountHoldings lists what an account keeps besides its campaigns (each
// of which CampaignHoldings lists), the account row itself last.
func AccountHoldings(k account.Key) []Holding {
	return []Holding{
		// Blobs whose campaign row was never written (a crash between
		// the two), under the account's prefix.
		{Where: Blobs, Container: ContainerUploads, Name: accountPrefix(k),
			What: "uploaded spreadsheets not yet read", Keep: "until their rows are read (at most an hour)"},
		{Where: Blobs, Container: ContainerOriginals, Name: accountPrefix(k),
			What: "template emails", Keep: keepCampaign},
		{Where: Partition, Table: tableMailboxes, Partition: k.String(),
			What: "your mailbox's sending pace: how many messages and recipients went out when (counts and times only)", Keep: keepAccount},
		{Where: Blob, Container: ContainerTokenCache, Name: TokenCacheBlob(k),
			What: "your permission for us to send from your mailbox (Microsoft's sign-in keys, encrypted)", Keep: keepAccount},
		{Where: Partition, Table: tableUnsubscribeLinks, Partition: tracking.AccountTag(k),
			What: "for each message sent, what its unsubscribe link and address apply to: which campaign and row it was, and a one-way fingerprint of each address it went to, never the address itself", Keep: "until you delete your account, also after you delete the campaign: the unsubscribe links of mail already sent keep working"},
		{Where: Partition, Table: tableSuppressions, Partition: k.String(),
			What: "your unsubscribe list: addresses that unsubscribed from your campaigns, that your messages could not be delivered to, or that you added, with when and how", Keep: "until you remove an address, or delete your account"},
		{Where: Partition, Table: tableDebugLog, Partition: k.String(),
			What: "what the add-in noted when you installed it (the Outlook it ran in), to help fix problems", Keep: "14 days, then deleted"},
		{Where: Entity, Table: tableAccounts, Partition: k.TenantID, Row: k.ObjectID,
			What: "your account: name, email address, address for our notices, when it was created and last seen; and, while you let us read your mailbox, since when, when we last looked and where we stopped (never a message)", Keep: keepAccount},
	}
}

// Unowned are the tables and containers that hold nothing of anyone's
// except ids, and why each is kept. Together with the holdings above
// they name every table and container (a test checks it).
var Unowned = map[string]string{
	"table:" + tableDeletions:           "deletions under way, and for as long as backups exist the ids (never content) of what was deleted, so a restore leaves it out",
	"table:" + tableRemovals:            "the table, keys and time of every deleted row (never content), so a restore from backup leaves it out",
	"table:" + tableTimerRuns:           "each timer function's last run (its name, start and end times, how it ended), for the app's health answer",
	"container:" + ContainerDeployments: "the app's code packages",
}

// Remove deletes what h names and returns how many entities or blobs it
// removed; what is already gone is not an error, so a deletion can be
// repeated after a crash.
func (s *Store) Remove(ctx context.Context, h Holding) (int, error) {
	switch h.Where {
	case Entity:
		return 1, s.deleteEntity(ctx, h.Table, h.Partition, h.Row)
	case Partition:
		return s.deletePartition(ctx, h.Table, h.Partition)
	case Blob:
		return 1, s.DeleteBlob(ctx, h.Container, h.Name)
	case Blobs:
		return s.DeleteBlobs(ctx, h.Container, h.Name)
	}
	return 0, fmt.Errorf("holding kind %d unknown", h.Where)
}

// HoldingsMarkdown renders the holdings of an account and of one of its
// campaigns, as docs/data.md lists them.
func HoldingsMarkdown() string {
	k := account.Key{TenantID: "<tenant>", ObjectID: "<object>"}
	c := Campaign{Account: k, ID: "<campaign>", AddressHash: "<address hash>"}
	var b strings.Builder
	b.WriteString("| of | where | what | kept |\n|---|---|---|---|\n")
	row := func(of string, h Holding) {
		var where string
		switch h.Where {
		case Entity:
			where = fmt.Sprintf("table `%s`, row `%s` / `%s`", h.Table, h.Partition, h.Row)
			if h.Row == "" {
				where = fmt.Sprintf("table `%s`, row `%s`", h.Table, h.Partition)
			}
		case Partition:
			where = fmt.Sprintf("table `%s`, partition `%s`", h.Table, h.Partition)
		case Blob:
			where = fmt.Sprintf("blob `%s/%s`", h.Container, h.Name)
		case Blobs:
			where = fmt.Sprintf("blobs `%s/%s…`", h.Container, h.Name)
		}
		// A partition named by a hash of the account reads as what it is.
		where = strings.ReplaceAll(where, tracking.AccountTag(k), "<hash of the account>")
		fmt.Fprintf(&b, "| %s | %s | %s | %s |\n", of, where, h.What, h.Keep)
	}
	for _, h := range CampaignHoldings(c) {
		row("each campaign", h)
	}
	for _, h := range AccountHoldings(k) {
		row("the account", h)
	}
	keys := make([]string, 0, len(Unowned))
	for key := range Unowned {
		keys = append(keys, key)
	}
	slices.Sort(keys)
	for _, key := range keys {
		kind, name, _ := strings.Cut(key, ":")
		fmt.Fprintf(&b, "| no one | %s `%s` | %s | |\n", kind, name, Unowned[key])
	}
	return b.String()
}

// Owned is what one campaign of an account holds, or, with CampaignID
// empty, what the account holds besides its campaigns.
type Owned struct {
	CampaignID string
	Holdings   []Holding
}

// OwnedBy lists everything account k holds: each campaign (those being
// deleted too: they are still stored), then the account's own holdings.
func (s *Store) OwnedBy(ctx context.Context, k account.Key) ([]Owned, error) {
	ids, err := s.AllCampaignIDs(ctx, k)
	if err != nil {
		return nil, err
	}
	out := make([]Owned, 0, len(ids)+1)
	for _, id := range ids {
		c, err := s.CampaignForDeletion(ctx, k, id)
		if apperr.Is(err, apperr.NotFound) {
			continue // deleted meanwhile
		}
		if err != nil {
			return nil, err
		}
		out = append(out, Owned{CampaignID: id, Holdings: CampaignHoldings(c)})
	}
	return append(out, Owned{Holdings: AccountHoldings(k)}), nil
}
