package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
)

const (
	tableCampaigns = "campaigns"
	tableAddresses = "campaignaddresses"
)

// Campaign is a campaign row. Its partition is the owner's account, so a
// lookup with another account's key finds nothing.
type Campaign struct {
	Account     account.Key
	ID          string
	Name        string
	TrackOpens  bool
	TrackClicks bool
	Status      campaign.Status
	// AddressHash is the SHA-256 of the inbound address token, which
	// finds the campaign; AddressSealed is the token encrypted, so that
	// its owner can see the address again.
	AddressHash         string
	AddressSealed       string
	CreatedAt           time.Time
	UpdatedAt           time.Time
	DeletionRequestedAt time.Time
	Data                DataSummary
	// InboundMessageID is Postmark's id of the template email that queued
	// the campaign; a second delivery of it is recognised by it.
	InboundMessageID string
	// OriginalID names where that template email is stored (each inbound
	// email under a name of its own, so a refused one never overwrites
	// the accepted one); empty for campaigns stored before it existed.
	OriginalID string
	QueuedAt   time.Time
	// Refused says why the owner's last template email was refused, when
	// it was for a reason they can fix.
	Refused campaign.Reason
	// Subject is the template email's subject, for the owner's notices.
	Subject string
	// StartMode says whether an accepted template email starts the
	// campaign or is held for review (empty: on email).
	StartMode campaign.StartMode
	// StartAt, when set, is when the campaign starts: an accepted email
	// waits in scheduled until then.
	StartAt time.Time
	// StartConfirmedAt is when the owner started a campaign held for
	// review; a newer template email clears it (held again).
	StartConfirmedAt time.Time
	// TestsAt are the times of the test messages of the last hour.
	TestsAt []time.Time
	// Window is when the campaign may send (zero: any time).
	Window campaign.Window
	// StartedAt, CompletedAt: when sending began and ended.
	StartedAt   time.Time
	CompletedAt time.Time
	// NextStepAt is when the next send step is due: the sweep re-enqueues
	// a step of a sending campaign that is well past it.
	NextStepAt time.Time
	// StepToken names the live send step; older steps end at once.
	StepToken string
	// Counts are the rows by state, kept by the workers (once per send
	// batch, exact whenever the campaign settles) so that showing a
	// campaign never counts its rows; CountedAt is zero until then.
	Counts    campaign.Counts
	CountedAt time.Time
	// Replied and Bounced count the rows whose message got a reply, or
	// bounced (hard or soft), as the mailbox reader marked them
	// (CountResponses): each row once, when it is first marked.
	Replied int
	Bounced int
	// Reason says why the campaign is paused, failed or cancelled.
	Reason campaign.Reason
	ETag   string
}

// Deleting reports whether the campaign's deletion is under way.
func (c Campaign) Deleting() bool { return !c.DeletionRequestedAt.IsZero() }

// DataSummary describes the campaign's recipient data: the upload being
// processed, or the rows extracted from the last one.
type DataSummary struct {
	Status    campaign.DataStatus
	UploadID  string
	FileName  string
	Format    string
	Columns   []string
	Empty     []int // per column, the valid rows whose cell is empty
	Rows      int
	ValidRows int
	Report    string // JSON, written and read by the caller
	// Sheet is the worksheet asked for (while processing) or read, and
	// Sheets the workbook's worksheets (JSON, written and read by the
	// caller); both empty for a CSV file.
	Sheet  string
	Sheets string
	// Checked names the account's unsubscribe list as the rows were
	// checked against it (lifecycle): the start checks them again only
	// when the list changed since.
	Checked string
	// Reason says why the upload failed or has no valid row.
	Reason      campaign.Reason
	UploadedAt  time.Time
	ProcessedAt time.Time
}

func campaignEntity(c Campaign) (entity, error) {
	e := newEntity(c.Account.String(), c.ID)
	p := e.Properties
	p["Name"], p["TrackOpens"], p["TrackClicks"], p["Status"], p["AddressHash"] = c.Name, c.TrackOpens, c.TrackClicks, string(c.Status), c.AddressHash
	p["AddressSealed"] = c.AddressSealed
	setTime(e, "CreatedAt", c.CreatedAt)
	setTime(e, "UpdatedAt", c.UpdatedAt)
	setTime(e, "DeletionRequestedAt", c.DeletionRequestedAt)
	setTime(e, "QueuedAt", c.QueuedAt)
	p["InboundMessageID"], p["OriginalID"], p["RefusedCode"], p["RefusedText"] = c.InboundMessageID, c.OriginalID, c.Refused.Code, c.Refused.Text
	p["Subject"], p["StatusCode"], p["StatusText"] = c.Subject, c.Reason.Code, c.Reason.Text
	p["StartMode"] = string(c.StartMode)
	setTime(e, "StartAt", c.StartAt)
	setTime(e, "StartConfirmedAt", c.StartConfirmedAt)
	if !c.Window.IsZero() {
		win, err := json.Marshal(c.Window)
		if err != nil {
			return e, err
		}
		p["Window"] = string(win)
	}
	if len(c.TestsAt) > 0 {
		tests, err := json.Marshal(c.TestsAt)
		if err != nil {
			return e, err
		}
		p["TestsAt"] = string(tests)
	}
	setTime(e, "StartedAt", c.StartedAt)
	setTime(e, "CompletedAt", c.CompletedAt)
	setTime(e, "NextStepAt", c.NextStepAt)
	p["StepToken"] = c.StepToken
	n := c.Counts
	p["CountPending"], p["CountSending"], p["CountSent"] = int32(n.Pending), int32(n.Sending), int32(n.Sent)
	p["CountFailed"], p["CountSkipped"], p["CountUnknown"] = int32(n.Failed), int32(n.Skipped), int32(n.Unknown)
	setTime(e, "CountedAt", c.CountedAt)
	p["CountReplied"], p["CountBounced"] = int32(c.Replied), int32(c.Bounced)
	d := c.Data
	cols, err := json.Marshal(d.Columns)
	if err != nil {
		return e, err
	}
	empty, err := json.Marshal(d.Empty)
	if err != nil {
		return e, err
	}
	p["DataEmpty"] = string(empty)
	p["DataStatus"], p["DataUploadID"], p["DataFileName"], p["DataFormat"] = string(d.Status), d.UploadID, d.FileName, d.Format
	p["DataColumns"], p["DataRows"], p["DataValidRows"], p["DataReport"] = string(cols), int32(d.Rows), int32(d.ValidRows), d.Report
	p["DataErrorCode"], p["DataErrorText"] = d.Reason.Code, d.Reason.Text
	p["DataSheet"], p["DataSheets"], p["DataChecked"] = d.Sheet, d.Sheets, d.Checked
	setTime(e, "DataUploadedAt", d.UploadedAt)
	setTime(e, "DataProcessedAt", d.ProcessedAt)
	return e, nil
}

func campaignFrom(e entity, etag string) (Campaign, error) {
	tid, oid, err := splitAccountKey(e.PartitionKey)
	if err != nil {
		return Campaign{}, err
	}
	c := Campaign{
		Account:             account.Key{TenantID: tid, ObjectID: oid},
		ID:                  e.RowKey,
		Name:                getString(e, "Name"),
		TrackOpens:          getBool(e, "TrackOpens"),
		TrackClicks:         getBool(e, "TrackClicks"),
		Status:              campaign.Status(getString(e, "Status")),
		AddressHash:         getString(e, "AddressHash"),
		AddressSealed:       getString(e, "AddressSealed"),
		CreatedAt:           getTime(e, "CreatedAt"),
		UpdatedAt:           getTime(e, "UpdatedAt"),
		DeletionRequestedAt: getTime(e, "DeletionRequestedAt"),
		InboundMessageID:    getString(e, "InboundMessageID"),
		OriginalID:          getString(e, "OriginalID"),
		QueuedAt:            getTime(e, "QueuedAt"),
		Refused:             campaign.Reason{Code: getString(e, "RefusedCode"), Text: getString(e, "RefusedText")},
		Subject:             getString(e, "Subject"),
		StartMode:           campaign.StartMode(getString(e, "StartMode")),
		StartAt:             getTime(e, "StartAt"),
		StartConfirmedAt:    getTime(e, "StartConfirmedAt"),
		StartedAt:           getTime(e, "StartedAt"),
		CompletedAt:         getTime(e, "CompletedAt"),
		NextStepAt:          getTime(e, "NextStepAt"),
		StepToken:           getString(e, "StepToken"),
		Counts: campaign.Counts{Pending: getInt(e, "CountPending"), Sending: getInt(e, "CountSending"), Sent: getInt(e, "CountSent"),
			Failed: getInt(e, "CountFailed"), Skipped: getInt(e, "CountSkipped"), Unknown: getInt(e, "CountUnknown")},
		CountedAt: getTime(e, "CountedAt"),
		Replied:   getInt(e, "CountReplied"),
		Bounced:   getInt(e, "CountBounced"),
		Reason:    campaign.Reason{Code: getString(e, "StatusCode"), Text: getString(e, "StatusText")},
		ETag:      etag,
		Data: DataSummary{
			Status:      campaign.DataStatus(getString(e, "DataStatus")),
			UploadID:    getString(e, "DataUploadID"),
			FileName:    getString(e, "DataFileName"),
			Format:      getString(e, "DataFormat"),
			Rows:        getInt(e, "DataRows"),
			ValidRows:   getInt(e, "DataValidRows"),
			Report:      getString(e, "DataReport"),
			Sheet:       getString(e, "DataSheet"),
			Sheets:      getString(e, "DataSheets"),
			Checked:     getString(e, "DataChecked"),
			Reason:      campaign.Reason{Code: getString(e, "DataErrorCode"), Text: getString(e, "DataErrorText")},
			UploadedAt:  getTime(e, "DataUploadedAt"),
			ProcessedAt: getTime(e, "DataProcessedAt"),
		},
	}
	if empty := getString(e, "DataEmpty"); empty != "" && empty != "null" {
		if err := json.Unmarshal([]byte(empty), &c.Data.Empty); err != nil {
			return c, fmt.Errorf("campaign %s empty counts: %w", c.ID, err)
		}
	}
	if cols := getString(e, "DataColumns"); cols != "" {
		if err := json.Unmarshal([]byte(cols), &c.Data.Columns); err != nil {
			return c, fmt.Errorf("campaign %s columns: %w", c.ID, err)
		}
	}
	if win := getString(e, "Window"); win != "" {
		if err := json.Unmarshal([]byte(win), &c.Window); err != nil {
			return c, fmt.Errorf("campaign %s window: %w", c.ID, err)
		}
	}
	if tests := getString(e, "TestsAt"); tests != "" {
		if err := json.Unmarshal([]byte(tests), &c.TestsAt); err != nil {
			return c, fmt.Errorf("campaign %s tests: %w", c.ID, err)
		}
	}
	return c, nil
}

// CreateCampaign inserts a new campaign and the index entry of its inbound
// address hash.
func (s *Store) CreateCampaign(ctx context.Context, c Campaign) error {
	if err := s.PutAddress(ctx, c.AddressHash, c.Account, c.ID); err != nil {
		return err
	}
	e, err := campaignEntity(c)
	if err != nil {
		return err
	}
	return s.addEntity(ctx, tableCampaigns, e)
}

// Campaign returns account k's campaign id; a missing campaign, one of
// another account, or one being deleted is NotFound.
func (s *Store) Campaign(ctx context.Context, k account.Key, id string) (Campaign, error) {
	e, etag, err := s.getEntity(ctx, tableCampaigns, k.String(), id)
	if apperr.Is(err, apperr.NotFound) {
		return Campaign{}, apperr.Wrap(err, apperr.NotFound, "campaign_not_found", "no such campaign")
	}
	if err != nil {
		return Campaign{}, err
	}
	c, err := campaignFrom(e, etag)
	if err != nil {
		return c, err
	}
	if c.Deleting() {
		return Campaign{}, apperr.E(apperr.NotFound, "campaign_not_found", "no such campaign")
	}
	return c, nil
}

// CampaignForDeletion returns the campaign even while it is being deleted.
func (s *Store) CampaignForDeletion(ctx context.Context, k account.Key, id string) (Campaign, error) {
	e, etag, err := s.getEntity(ctx, tableCampaigns, k.String(), id)
	if err != nil {
		return Campaign{}, err
	}
	return campaignFrom(e, etag)
}

// DeleteCampaignRow removes the campaign row; a missing row is fine.
func (s *Store) DeleteCampaignRow(ctx context.Context, k account.Key, id string) error {
	return s.deleteEntity(ctx, tableCampaigns, k.String(), id)
}

// CampaignsToSweep lists the campaigns of every account that the sweep
// looks at: queued, scheduled and sending ones, and cancelled ones whose last step
// is more recent than since (a settled cancellation is left alone after
// that). It is a scan across partitions.
func (s *Store) CampaignsToSweep(ctx context.Context, since time.Time) ([]Campaign, error) {
	filter := "Status eq 'queued' or Status eq 'scheduled' or Status eq 'sending' or (Status eq 'cancelled' and NextStepAt ge " + filterTime(since) + ")"
	var out []Campaign
	err := s.query(ctx, tableCampaigns, filter, func(e entity) error {
		c, err := campaignFrom(e, e.ETag)
		if err != nil {
			return err
		}
		if !c.Deleting() {
			out = append(out, c)
		}
		return nil
	})
	return out, err
}

// AllCampaignIDs lists the ids of every campaign of an account, deleting ones included.
func (s *Store) AllCampaignIDs(ctx context.Context, k account.Key) ([]string, error) {
	var ids []string
	err := s.query(ctx, tableCampaigns, "PartitionKey eq '"+escapeFilter(k.String())+"'", func(e entity) error {
		ids = append(ids, e.RowKey)
		return nil
	})
	return ids, err
}

// Address is where an inbound address hash leads.
type Address struct {
	Account    account.Key
	CampaignID string
}

// PutAddress indexes an inbound address token hash.
func (s *Store) PutAddress(ctx context.Context, hash string, k account.Key, campaignID string) error {
	e := newEntity(hash, "")
	e.Properties["Account"], e.Properties["CampaignID"] = k.String(), campaignID
	return s.replaceEntity(ctx, tableAddresses, e, "")
}

// LookupAddress finds the campaign of an inbound address token hash.
func (s *Store) LookupAddress(ctx context.Context, hash string) (Address, error) {
	e, _, err := s.getEntity(ctx, tableAddresses, hash, "")
	if err != nil {
		return Address{}, err
	}
	tid, oid, err := splitAccountKey(getString(e, "Account"))
	if err != nil {
		return Address{}, err
	}
	return Address{Account: account.Key{TenantID: tid, ObjectID: oid}, CampaignID: getString(e, "CampaignID")}, nil
}

// DeleteAddress removes an inbound address hash from the index.
func (s *Store) DeleteAddress(ctx context.Context, hash string) error {
	if hash == "" {
		return nil
	}
	return s.deleteEntity(ctx, tableAddresses, hash, "")
}
