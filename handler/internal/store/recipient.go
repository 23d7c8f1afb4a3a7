package store

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"golang.org/x/sync/errgroup"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/tracking"
)

const tableRecipients = "recipients"

// Recipient is one extracted spreadsheet row: its cells, aligned with the
// campaign's columns, and its state.
type Recipient struct {
	// Row is the spreadsheet row number (the header is row 1).
	Row    int
	Cells  []string
	Status campaign.RowStatus
	// Reason says why a row was skipped, failed, is unknown or was put
	// back (a code and a sentence).
	Reason campaign.Reason
	// UpdatedAt is when the status last changed (zero before sending).
	UpdatedAt time.Time
	// ClaimedBy and ClaimedUntil are the claim of a row "sending": the
	// process sending it, and when its send must have ended. A claim past
	// that deadline belongs to a worker that is gone.
	ClaimedBy    string
	ClaimedUntil time.Time
	// MessageID is the Message-ID the row's message is sent with, when
	// its owner lets us read the mailbox (docs/mailbox-reading.md): set by
	// the claim, before the message leaves, so that a send whose answer
	// was lost can be looked for in the sender's mailbox. Looks counts
	// those looks; Resent is set when it was not found and the row went
	// back to be sent once more (with the same Message-ID), never twice.
	MessageID string
	Looks     int
	Resent    bool
	// FirstOpenAt and FirstClickAt are the row's first human open and
	// click (zero when none), for the report.
	FirstOpenAt  time.Time
	FirstClickAt time.Time
	// RepliedAt is when the first reply to the row's message arrived in
	// the sender's inbox; BouncedAt when a report that it was not
	// delivered did, and Bounce of which kind (zero and "": none). Only
	// these times and the kind are kept of what the mailbox reader saw
	// (MarkRecipient).
	RepliedAt time.Time
	BouncedAt time.Time
	Bounce    Bounce
	// Hits counts the row's opens and clicks: how many of each kind,
	// link and hour are stored as events, and how many more came and were
	// only counted (the tracking worker stores a bounded number). HitsFrom
	// names the last queue messages whose hits are in Hits, so a message
	// delivered again is not counted twice.
	Hits     Hits
	HitsFrom []string
	// ETag guards the status change of a claim.
	ETag string
}

// HitKey names a row's hits of one kind (tracking.Open or Click), link
// (0 for opens) and UTC hour.
type HitKey struct {
	Kind tracking.Kind
	Link int
	Hour time.Time
}

// HitCount counts a row's hits of one HitKey: those stored as events,
// and those only counted.
type HitCount struct {
	Stored int
	Extra  int
}

// Hits are a row's hit counts.
type Hits map[HitKey]HitCount

// Add counts stored and extra more hits of k.
func (h Hits) Add(k HitKey, stored, extra int) {
	c := h[k]
	c.Stored, c.Extra = c.Stored+stored, c.Extra+extra
	h[k] = c
}

// What a row keeps of its hit counts, so that they fit its entity
// whatever a flood does: maxHitKeys counts (about 60 KB), maxHitChunks
// properties of chunkRunes, and the last maxHitsFrom message ids.
const (
	maxHitKeys   = 2000
	maxHitChunks = 4
	maxHitsFrom  = 20
)

// hitKeyText is k as stored: kind/link/hour, the hour as yyyymmddhh.
func hitKeyText(k HitKey) string {
	return kindName(k.Kind) + "/" + strconv.Itoa(k.Link) + "/" + k.Hour.UTC().Format("2006010215")
}

func parseHitKey(s string) (HitKey, bool) {
	name, rest, ok1 := strings.Cut(s, "/")
	link, hour, ok2 := strings.Cut(rest, "/")
	kind, ok3 := kindNamed(name)
	n, err := strconv.Atoi(link)
	t, terr := time.Parse("2006010215", hour)
	return HitKey{Kind: kind, Link: n, Hour: t}, ok1 && ok2 && ok3 && err == nil && terr == nil
}

// trimmed is what of h is kept. A count of hours more than a day before
// the newest that only counts stored events is left out: the bound it
// serves is for hits now, and the events are counted where they are.
// Beyond maxHitKeys, the oldest count is added to the next one of its
// kind and link: a flood kept up for months keeps its totals, its oldest
// hours put together.
func (h Hits) trimmed() Hits {
	var newest time.Time
	for k := range h {
		if k.Hour.After(newest) {
			newest = k.Hour
		}
	}
	out := Hits{}
	for k, c := range h {
		if c.Extra > 0 || !k.Hour.Before(newest.Add(-24*time.Hour)) {
			out[k] = c
		}
	}
	if len(out) <= maxHitKeys {
		return out
	}
	keys := slices.Collect(maps.Keys(out))
	slices.SortFunc(keys, func(a, b HitKey) int { return a.Hour.Compare(b.Hour) })
	for i, k := range keys {
		if len(out) <= maxHitKeys {
			break
		}
		for _, next := range keys[i+1:] {
			if next.Kind == k.Kind && next.Link == k.Link {
				out.Add(next, out[k].Stored, out[k].Extra)
				delete(out, k)
				break
			}
		}
	}
	return out
}

// setHits puts the row's hit counts on e: every chunk property, empty
// when unused, so a merge leaves no longer chunk of an earlier write.
func setHits(e entity, h Hits, from []string) error {
	text := map[string][2]int{}
	for k, c := range h.trimmed() {
		text[hitKeyText(k)] = [2]int{c.Stored, c.Extra}
	}
	raw, err := json.Marshal(text)
	if err != nil {
		return err
	}
	chunks := splitRunes(string(raw), chunkRunes)
	if len(chunks) > maxHitChunks {
		return fmt.Errorf("row %s: hit counts of %d bytes", e.RowKey, len(raw))
	}
	for i := range maxHitChunks {
		e.Properties["Hits"+strconv.Itoa(i)] = ""
		if i < len(chunks) {
			e.Properties["Hits"+strconv.Itoa(i)] = chunks[i]
		}
	}
	e.Properties["HitsFrom"] = strings.Join(from[max(0, len(from)-maxHitsFrom):], ",")
	return nil
}

// hitsFrom reads the hit counts setHits wrote (none when it never did).
func hitsFrom(e entity) (Hits, []string, error) {
	var b strings.Builder
	for i := range maxHitChunks {
		b.WriteString(getString(e, "Hits"+strconv.Itoa(i)))
	}
	var from []string
	if f := getString(e, "HitsFrom"); f != "" {
		from = strings.Split(f, ",")
	}
	if b.Len() == 0 {
		return nil, from, nil
	}
	var text map[string][2]int
	if err := json.Unmarshal([]byte(b.String()), &text); err != nil {
		return nil, from, fmt.Errorf("recipient row %s hits: %w", e.RowKey, err)
	}
	h := make(Hits, len(text))
	for s, c := range text {
		if k, ok := parseHitKey(s); ok {
			h[k] = HitCount{Stored: c[0], Extra: c[1]}
		}
	}
	return h, from, nil
}

// Table storage limits one string property to 64 KB (32K UTF-16 units) and
// an entity to 1 MB, so cells are stored as JSON split over several
// properties, and batches stay under the 4 MB transaction payload.
const (
	chunkRunes     = 30_000
	maxChunks      = 15
	batchEntities  = 100
	batchBytes     = 3 << 20
	writeWorkers   = 4
	recipientRKLen = 7
)

// RecipientRowKey is the row key of a spreadsheet row: zero-padded so rows
// sort in spreadsheet order.
func RecipientRowKey(row int) string {
	return fmt.Sprintf("%0*d", recipientRKLen, row)
}

// ErrRowTooLarge is returned by ReplaceRecipients for a row whose cells do
// not fit one table entity.
type ErrRowTooLarge struct{ Row int }

func (e ErrRowTooLarge) Error() string { return fmt.Sprintf("row %d is too large to store", e.Row) }

func recipientEntity(campaignID string, r Recipient) (entity, int, error) {
	e := newEntity(campaignID, RecipientRowKey(r.Row))
	cells, err := json.Marshal(r.Cells)
	if err != nil {
		return e, 0, err
	}
	chunks := splitRunes(string(cells), chunkRunes)
	if len(chunks) > maxChunks {
		return e, 0, ErrRowTooLarge{Row: r.Row}
	}
	for i, c := range chunks {
		e.Properties["Cells"+strconv.Itoa(i)] = c
	}
	e.Properties["Status"] = string(r.Status)
	// The reason keeps the property names rows were first stored with
	// (Problem, Detail), as the campaign's keep theirs (StatusCode,
	// StatusText, RefusedCode, DataErrorCode…): stored rows read the same.
	if r.Reason.Code != "" {
		e.Properties["Problem"], e.Properties["Detail"] = r.Reason.Code, r.Reason.Text
	}
	return e, len(cells) + 200, nil
}

func recipientFrom(e entity) (Recipient, error) {
	row, err := strconv.Atoi(e.RowKey)
	if err != nil {
		return Recipient{}, fmt.Errorf("recipient row key %q: %w", e.RowKey, err)
	}
	var b strings.Builder
	for i := 0; ; i++ {
		c, ok := e.Properties["Cells"+strconv.Itoa(i)].(string)
		if !ok {
			break
		}
		b.WriteString(c)
	}
	r := Recipient{Row: row, Status: campaign.RowStatus(getString(e, "Status")), Reason: campaign.Reason{Code: getString(e, "Problem"), Text: getString(e, "Detail")},
		UpdatedAt: getTime(e, "UpdatedAt"), ClaimedBy: getString(e, "ClaimedBy"), ClaimedUntil: getTime(e, "ClaimedUntil"),
		MessageID: getString(e, "MessageID"), Looks: getInt(e, "Looks"), Resent: getBool(e, "Resent"),
		FirstOpenAt: getTime(e, "FirstOpenAt"), FirstClickAt: getTime(e, "FirstClickAt"),
		RepliedAt: getTime(e, "RepliedAt"), BouncedAt: getTime(e, "BouncedAt"), Bounce: Bounce(getString(e, "Bounce")), ETag: e.ETag}
	if b.Len() > 0 {
		if err := json.Unmarshal([]byte(b.String()), &r.Cells); err != nil {
			return r, fmt.Errorf("recipient row %d cells: %w", row, err)
		}
	}
	r.Hits, r.HitsFrom, err = hitsFrom(e)
	return r, err
}

// splitRunes cuts s into pieces of at most n runes (whole runes only).
func splitRunes(s string, n int) []string {
	var out []string
	for len(s) > 0 {
		i, count := 0, 0
		for i < len(s) && count < n {
			_, size := utf8.DecodeRuneInString(s[i:])
			i += size
			count++
		}
		out = append(out, s[:i])
		s = s[i:]
	}
	return out
}

// ReplaceRecipients makes rows the campaign's recipients: the old rows are
// deleted, the new ones written in entity group transactions, several at a
// time. Writes are upserts, so a retried run converges.
func (s *Store) ReplaceRecipients(ctx context.Context, campaignID string, rows []Recipient) error {
	if _, err := s.DeleteRecipients(ctx, campaignID); err != nil {
		return err
	}
	return s.writeRecipients(ctx, campaignID, rows)
}

func (s *Store) writeRecipients(ctx context.Context, campaignID string, rows []Recipient) error {
	var batches [][]aztables.TransactionAction
	var cur []aztables.TransactionAction
	size := 0
	for _, r := range rows {
		e, n, err := recipientEntity(campaignID, r)
		if err != nil {
			return err
		}
		raw, err := json.Marshal(e)
		if err != nil {
			return err
		}
		if len(cur) == batchEntities || (len(cur) > 0 && size+n > batchBytes) {
			batches = append(batches, cur)
			cur, size = nil, 0
		}
		cur = append(cur, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: raw})
		size += n
	}
	if len(cur) > 0 {
		batches = append(batches, cur)
	}
	if len(batches) == 0 {
		return nil
	}
	// Create the table once before writing in parallel.
	if err := s.onTable(ctx, tableRecipients, func(c *aztables.Client) error {
		_, err := c.SubmitTransaction(ctx, batches[0], nil)
		return err
	}); err != nil {
		return fmt.Errorf("write recipients: %w", translate(err))
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(writeWorkers)
	client := s.table(tableRecipients)
	for _, b := range batches[1:] {
		g.Go(func() error {
			if _, err := client.SubmitTransaction(gctx, b, nil); err != nil {
				return fmt.Errorf("write recipients: %w", translate(err))
			}
			return nil
		})
	}
	return g.Wait()
}

// ForEachRecipient calls fn for every row of the campaign, in row order.
func (s *Store) ForEachRecipient(ctx context.Context, campaignID string, fn func(Recipient) error) error {
	return s.query(ctx, tableRecipients, "PartitionKey eq '"+escapeFilter(campaignID)+"'", func(e entity) error {
		r, err := recipientFrom(e)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// CopyRecipients replaces the rows of campaign to with those of campaign from.
func (s *Store) CopyRecipients(ctx context.Context, from, to string) (int, error) {
	var rows []Recipient
	if err := s.ForEachRecipient(ctx, from, func(r Recipient) error {
		rows = append(rows, r)
		return nil
	}); err != nil {
		return 0, err
	}
	return len(rows), s.ReplaceRecipients(ctx, to, rows)
}

// DeleteRecipients deletes every row of the campaign.
func (s *Store) DeleteRecipients(ctx context.Context, campaignID string) (int, error) {
	return s.deletePartition(ctx, tableRecipients, campaignID)
}

// Recipient returns one row of a campaign; NotFound when there is none.
func (s *Store) Recipient(ctx context.Context, campaignID string, row int) (Recipient, error) {
	e, etag, err := s.getEntity(ctx, tableRecipients, campaignID, RecipientRowKey(row))
	if err != nil {
		return Recipient{}, err
	}
	r, err := recipientFrom(e)
	r.ETag = etag
	return r, err
}

// FirstRecipient returns the campaign's first row in the given status.
func (s *Store) FirstRecipient(ctx context.Context, campaignID string, status campaign.RowStatus) (Recipient, error) {
	rows, err := s.RecipientsInStatus(ctx, campaignID, status, 1)
	if err != nil {
		return Recipient{}, err
	}
	if len(rows) == 0 {
		return Recipient{}, apperr.E(apperr.NotFound, "row_not_found", "the campaign has no row in status %s", status)
	}
	return rows[0], nil
}

// SetRecipientStatus moves row r from the status it was read with to
// status (with why, and when) without touching its cells. A move the row
// table does not allow is an Internal error. With r.ETag set the change is
// conditional: a row changed meanwhile (claimed by another worker) is a
// Conflict. It returns the row with its new ETag.
func (s *Store) SetRecipientStatus(ctx context.Context, campaignID string, r Recipient, status campaign.RowStatus, why campaign.Reason, at time.Time) (Recipient, error) {
	if err := r.Status.To(status); err != nil {
		return r, apperr.Wrap(err, apperr.Internal, "row_transition", fmt.Sprintf("row %d: %v", r.Row, err))
	}
	e := newEntity(campaignID, RecipientRowKey(r.Row))
	e.Properties["Status"], e.Properties["Problem"], e.Properties["Detail"] = string(status), why.Code, why.Text
	setTime(e, "UpdatedAt", at)
	r, err := s.mergeRecipient(ctx, campaignID, r, e)
	if err == nil {
		r.Status, r.Reason, r.UpdatedAt = status, why, at
	}
	return r, err
}

// ClaimRecipient marks row r "sending" for owner until deadline, under the
// ETag r was read with: of two workers, only one claims a row, which is
// what makes it go out at most once. A row changed meanwhile is a Conflict.
func (s *Store) ClaimRecipient(ctx context.Context, campaignID string, r Recipient, owner string, deadline, at time.Time) (Recipient, error) {
	const status = campaign.RowSending
	if r.ETag == "" {
		return r, apperr.E(apperr.Internal, "claim_unguarded", "a row is claimed only as it was read")
	}
	if err := r.Status.To(status); err != nil {
		return r, apperr.Wrap(err, apperr.Internal, "row_transition", fmt.Sprintf("row %d: %v", r.Row, err))
	}
	e := newEntity(campaignID, RecipientRowKey(r.Row))
	e.Properties["Status"], e.Properties["Problem"], e.Properties["Detail"], e.Properties["ClaimedBy"] = string(status), "", "", owner
	setTime(e, "UpdatedAt", at)
	setTime(e, "ClaimedUntil", deadline)
	if r.MessageID != "" {
		e.Properties["MessageID"] = r.MessageID
	}
	r, err := s.mergeRecipient(ctx, campaignID, r, e)
	if err == nil {
		r.Status, r.Reason, r.UpdatedAt, r.ClaimedBy, r.ClaimedUntil = status, campaign.Reason{}, at, owner, deadline
	}
	return r, err
}

// DoubtRecipient keeps row r "sending", in doubt, until until: the answer
// of its send was lost and it will be looked for in the sender's mailbox
// then (one more look counted). Conditional on r's ETag, as a claim.
func (s *Store) DoubtRecipient(ctx context.Context, campaignID string, r Recipient, why campaign.Reason, until, at time.Time) (Recipient, error) {
	if r.Status != campaign.RowSending || r.ETag == "" {
		return r, apperr.E(apperr.Internal, "doubt_unguarded", "only a claimed row, as it was read, can be in doubt")
	}
	e := newEntity(campaignID, RecipientRowKey(r.Row))
	e.Properties["Problem"], e.Properties["Detail"], e.Properties["Looks"] = why.Code, why.Text, r.Looks+1
	setTime(e, "ClaimedUntil", until)
	setTime(e, "UpdatedAt", at)
	r, err := s.mergeRecipient(ctx, campaignID, r, e)
	if err == nil {
		r.Reason, r.ClaimedUntil, r.UpdatedAt, r.Looks = why, until, at, r.Looks+1
	}
	return r, err
}

// ResendRecipient puts row r, in doubt and not found in the sender's
// mailbox, back to pending, marked Resent: it is sent once more, with the
// same Message-ID, and never again after that. Conditional on r's ETag.
func (s *Store) ResendRecipient(ctx context.Context, campaignID string, r Recipient, why campaign.Reason, at time.Time) (Recipient, error) {
	if r.Resent || r.ETag == "" {
		return r, apperr.E(apperr.Internal, "resend_twice", "a row is sent again once at most, as it was read")
	}
	if err := r.Status.To(campaign.RowPending); err != nil {
		return r, apperr.Wrap(err, apperr.Internal, "row_transition", fmt.Sprintf("row %d: %v", r.Row, err))
	}
	e := newEntity(campaignID, RecipientRowKey(r.Row))
	e.Properties["Status"], e.Properties["Problem"], e.Properties["Detail"] = string(campaign.RowPending), why.Code, why.Text
	e.Properties["Resent"], e.Properties["Looks"] = true, 0
	setTime(e, "UpdatedAt", at)
	r, err := s.mergeRecipient(ctx, campaignID, r, e)
	if err == nil {
		r.Status, r.Reason, r.UpdatedAt, r.Resent, r.Looks = campaign.RowPending, why, at, true, 0
	}
	return r, err
}

// Bounce is the kind of a row's bounce.
type Bounce string

// The kinds of bounce.
const (
	// BounceHard: a report that the message could not be delivered (a
	// non-delivery report). Its address goes on the suppression list.
	BounceHard Bounce = "hard"
	// BounceSoft: a notice that delivery is delayed; the message may
	// still arrive.
	BounceSoft Bounce = "soft"
)

// Mark is what the mailbox reader learnt of a row's message: a reply
// (RepliedAt set) or a bounce (Bounce set, at BouncedAt).
type Mark struct {
	RepliedAt time.Time
	Bounce    Bounce
	BouncedAt time.Time
}

// Marked says what a MarkRecipient changed: Replied and Bounced, the
// row's first reply and first bounce (so each row is counted once);
// Hardened, a soft bounce that became hard.
type Marked struct {
	Replied, Bounced, Hardened bool
}

// markTries bounds the writes of a mark that lose to another writer of
// the row (a send step, the tracking worker) before giving up.
const markTries = 5

// MarkRecipient records m on row row: the first reply only, and a bounce
// unless the row has one already, a hard one replacing a soft one. Each
// write is conditional on the row as read, so two readers of the same
// message (a read repeated, two at once) change it once, and only the one
// that did reports it. A row that is gone is NotFound.
func (s *Store) MarkRecipient(ctx context.Context, campaignID string, row int, m Mark) (Marked, error) {
	for range markTries {
		r, err := s.Recipient(ctx, campaignID, row)
		if err != nil {
			return Marked{}, err
		}
		var done Marked
		e := newEntity(campaignID, RecipientRowKey(row))
		if !m.RepliedAt.IsZero() && r.RepliedAt.IsZero() {
			setTime(e, "RepliedAt", m.RepliedAt)
			done.Replied = true
		}
		if m.Bounce != "" && (r.Bounce == "" || r.Bounce == BounceSoft && m.Bounce == BounceHard) {
			e.Properties["Bounce"] = string(m.Bounce)
			setTime(e, "BouncedAt", m.BouncedAt)
			done.Bounced, done.Hardened = r.Bounce == "", r.Bounce != ""
		}
		if done == (Marked{}) {
			return done, nil
		}
		_, err = s.mergeRecipient(ctx, campaignID, r, e)
		if apperr.Is(err, apperr.Conflict) {
			continue
		}
		return done, err
	}
	return Marked{}, apperr.E(apperr.Transient, "row_busy", "row %d kept changing; try again", row)
}

// mergeRecipient writes e's properties over row r, under r's ETag when it
// has one, and returns r with its new ETag.
func (s *Store) mergeRecipient(ctx context.Context, campaignID string, r Recipient, e entity) (Recipient, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return r, err
	}
	tag := azcore.ETagAny
	if r.ETag != "" {
		tag = azcore.ETag(r.ETag)
	}
	var resp aztables.UpdateEntityResponse
	err = s.onTable(ctx, tableRecipients, func(c *aztables.Client) error {
		resp, err = c.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &tag, UpdateMode: aztables.UpdateModeMerge})
		return err
	})
	if hasCode(err, "ResourceNotFound") {
		return r, apperr.E(apperr.NotFound, "row_not_found", "row %d is gone", r.Row)
	}
	if err != nil {
		return r, translate(err)
	}
	r.ETag = string(resp.ETag)
	return r, nil
}

// RecipientsInStatus returns up to limit rows of the campaign in status,
// in row order.
func (s *Store) RecipientsInStatus(ctx context.Context, campaignID string, status campaign.RowStatus, limit int) ([]Recipient, error) {
	return s.RecipientsInStatusFrom(ctx, campaignID, status, 0, limit)
}

// RecipientsInStatusFrom is RecipientsInStatus from row number from on:
// a worker going down the sheet need not read the rows it passed again.
func (s *Store) RecipientsInStatusFrom(ctx context.Context, campaignID string, status campaign.RowStatus, from, limit int) ([]Recipient, error) {
	filter := "PartitionKey eq '" + escapeFilter(campaignID) + "' and RowKey ge '" + RecipientRowKey(from) + "' and Status eq '" + escapeFilter(string(status)) + "'"
	top := int32(min(limit, 1000))
	var out []Recipient
	err := s.list(ctx, tableRecipients, &aztables.ListEntitiesOptions{Filter: &filter, Top: &top}, func(e entity) error {
		r, err := recipientFrom(e)
		if err != nil {
			return err
		}
		out = append(out, r)
		if len(out) >= limit {
			return errStop
		}
		return nil
	})
	return out, err
}

// RecipientCounts counts the campaign's rows by status, reading only the
// status of each.
func (s *Store) RecipientCounts(ctx context.Context, campaignID string) (map[campaign.RowStatus]int, error) {
	filter, sel := "PartitionKey eq '"+escapeFilter(campaignID)+"'", "Status"
	counts := map[campaign.RowStatus]int{}
	err := s.list(ctx, tableRecipients, &aztables.ListEntitiesOptions{Filter: &filter, Select: &sel}, func(e entity) error {
		counts[campaign.RowStatus(getString(e, "Status"))]++
		return nil
	})
	return counts, err
}

// RecipientPage is one page of a campaign's rows, in row order.
type RecipientPage struct {
	Recipients []Recipient
	// Next is the opaque cursor of the next page, "" on the last page.
	Next string
}

// Recipients lists a campaign's rows from an opaque cursor (the next row
// number), limit per page, optionally only those in status.
func (s *Store) Recipients(ctx context.Context, campaignID string, status campaign.RowStatus, limit int, cursor string) (RecipientPage, error) {
	filter := "PartitionKey eq '" + escapeFilter(campaignID) + "'"
	if cursor != "" {
		row, err := strconv.Atoi(cursor)
		if err != nil || row < 0 {
			return RecipientPage{}, apperr.E(apperr.Invalid, "cursor_invalid", "the cursor is not one this API gave out")
		}
		filter += " and RowKey ge '" + RecipientRowKey(row) + "'"
	}
	if status != "" {
		filter += " and Status eq '" + escapeFilter(string(status)) + "'"
	}
	top := int32(min(limit+1, 1000))
	var page RecipientPage
	err := s.list(ctx, tableRecipients, &aztables.ListEntitiesOptions{Filter: &filter, Top: &top}, func(e entity) error {
		r, err := recipientFrom(e)
		if err != nil {
			return err
		}
		if len(page.Recipients) == limit {
			page.Next = strconv.Itoa(r.Row)
			return errStop
		}
		page.Recipients = append(page.Recipients, r)
		return nil
	})
	return page, err
}

// CorrectRecipient replaces the cells of row r, read with its ETag, if it
// is still as read: a row claimed or settled meanwhile is a Conflict. Only
// a row not sent (pending, or skipped before the campaign started) is
// corrected, and it becomes pending: a move the row table refuses is an
// Internal error. A row whose state changes records when (at).
func (s *Store) CorrectRecipient(ctx context.Context, campaignID string, r Recipient, cells []string, at time.Time) (Recipient, error) {
	if r.ETag == "" || (r.Status != campaign.RowPending && r.Status != campaign.RowSkipped) {
		return r, apperr.E(apperr.Internal, "correct_unguarded", "only a row not sent, as read, is corrected")
	}
	if r.Status != campaign.RowPending {
		if err := r.Status.To(campaign.RowPending); err != nil {
			return r, apperr.Wrap(err, apperr.Internal, "row_transition", fmt.Sprintf("row %d: %v", r.Row, err))
		}
		r.UpdatedAt = at
	}
	r.Cells, r.Status, r.Reason = cells, campaign.RowPending, campaign.Reason{}
	e, _, err := recipientEntity(campaignID, r)
	if err != nil {
		return r, err
	}
	setTime(e, "UpdatedAt", r.UpdatedAt)
	if err := s.replaceEntity(ctx, tableRecipients, e, r.ETag); err != nil {
		return r, err
	}
	return r, nil
}
