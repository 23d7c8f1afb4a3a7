package store

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"mailmerge/handler/internal/account"
	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/dev/testenv"
)

func open(t *testing.T) *Store {
	t.Helper()
	s, err := Open(testenv.Storage(t))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func newKey() account.Key {
	return account.Key{TenantID: testenv.Name("t"), ObjectID: testenv.Name("o")}
}

func TestAccountLifecycle(t *testing.T) {
	s, ctx := open(t), context.Background()
	k := newKey()
	if _, err := s.Account(ctx, k); !apperr.Is(err, apperr.NotFound) {
		t.Fatalf("missing account: got %v, want NotFound", err)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	a := Account{Key: k, Email: "a@contoso.example", DisplayName: "A", CreatedAt: now, UpdatedAt: now}
	if err := s.CreateAccount(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, a); !apperr.Is(err, apperr.Conflict) {
		t.Fatalf("second create: got %v, want Conflict", err)
	}
	got, err := s.Account(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if got.Email != a.Email || got.DisplayName != "A" || !got.CreatedAt.Equal(now) || got.ETag == "" || got.Deleting() {
		t.Errorf("got %+v", got)
	}
	stale := got
	got.DisplayName = "B"
	if err := s.UpdateAccount(ctx, got); err != nil {
		t.Fatal(err)
	}
	stale.DisplayName = "C"
	if err := s.UpdateAccount(ctx, stale); !apperr.Is(err, apperr.Conflict) {
		t.Errorf("update with a stale ETag: got %v, want Conflict", err)
	}
	if err := s.DeleteAccountRow(ctx, k); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteAccountRow(ctx, k); err != nil {
		t.Errorf("deleting twice must be fine: %v", err)
	}
}

func TestDebugEntriesExpire(t *testing.T) {
	s, ctx := open(t), context.Background()
	k := newKey()
	// A clock far in the past: the deletion below can only reach entries
	// that expired before it, ours, never those of tests running beside us.
	now := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, exp := range []time.Duration{-time.Minute, time.Hour, -time.Second} {
		d := DebugEntry{Kind: "install", Detail: "{}", CreatedAt: now.Add(time.Duration(i) * time.Millisecond), ExpiresAt: now.Add(exp)}
		if err := s.AddDebugEntry(ctx, k, d); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteExpiredDebugEntries(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != 2 {
		t.Errorf("deleted %d expired entries, want 2", n)
	}
	left, err := s.DebugEntries(ctx, k)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != 1 || !left[0].ExpiresAt.After(now) {
		t.Errorf("left %+v, want only the unexpired entry", left)
	}
	if n, err := s.DeleteDebugEntries(ctx, k); err != nil || n != 1 {
		t.Errorf("delete partition: %d, %v", n, err)
	}
}

func TestDeletePartitionInBatches(t *testing.T) {
	s, ctx := open(t), context.Background()
	k := newKey()
	now := time.Now().UTC()
	for i := range 230 {
		d := DebugEntry{Kind: "install", CreatedAt: now.Add(time.Duration(i) * time.Microsecond), ExpiresAt: now.Add(time.Hour)}
		if err := s.AddDebugEntry(ctx, k, d); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteDebugEntries(ctx, k)
	if err != nil || n != 230 {
		t.Fatalf("deleted %d, %v; want 230", n, err)
	}
	left, _ := s.DebugEntries(ctx, k)
	if len(left) != 0 {
		t.Errorf("%d entries left", len(left))
	}
}

func TestPendingDeletions(t *testing.T) {
	s, ctx := open(t), context.Background()
	k := newKey()
	// Newer than the retention timer's 15-minute stall bound, so a timer
	// running in another test cannot finish it under our feet.
	at := time.Now().UTC().Add(-time.Minute)
	if err := s.RecordDeletion(ctx, Deletion{Account: k, RequestedAt: at}); err != nil {
		t.Fatal(err)
	}
	pending, err := s.PendingDeletions(ctx, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if !containsDeletion(pending, k) {
		t.Errorf("pending deletions %v lack %v", pending, k)
	}
	pending, _ = s.PendingDeletions(ctx, at.Add(-time.Second))
	if containsDeletion(pending, k) {
		t.Error("a deletion newer than the bound was listed")
	}
	finished := time.Now().UTC()
	if err := s.FinishDeletion(ctx, Deletion{Account: k}, finished); err != nil {
		t.Fatal(err)
	}
	pending, _ = s.PendingDeletions(ctx, time.Now())
	if containsDeletion(pending, k) {
		t.Error("finished deletion still listed")
	}
	// The tombstone stays, so restores skip the account's data; after a
	// blob restore the deletion can run again.
	erased, err := s.Erasures(ctx)
	if _, ok := erased.accounts[k.String()]; err != nil || !ok {
		t.Errorf("tombstone not among the erasures (%v)", err)
	}
	// (Requested now, so no retention timer of another test runs it; nor
	// any other test's deletion reapplied by this window.)
	if n, _, err := s.ReapplyDeletions(ctx, finished.Add(-time.Second), time.Now()); err != nil || n < 1 {
		t.Fatalf("reapplied %d, %v", n, err)
	}
	pending, _ = s.PendingDeletions(ctx, time.Now().Add(time.Second))
	if !containsDeletion(pending, k) {
		t.Error("reapplied deletion not pending")
	}
	// Not when the person came back: the deletion would take their new data.
	if err := s.FinishDeletion(ctx, Deletion{Account: k}, finished); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, Account{Key: k, Email: "again@contoso.example", CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, again, err := s.ReapplyDeletions(ctx, finished.Add(-time.Second), time.Now()); err != nil || again < 1 {
		t.Fatalf("%d accounts back, %v", again, err)
	}
	pending, _ = s.PendingDeletions(ctx, time.Now().Add(time.Second))
	if containsDeletion(pending, k) {
		t.Error("the deletion of an account that exists again was reapplied")
	}
	_ = s.DeleteAccountRow(ctx, k)
	// Tombstones go once no backup can hold the data. (Finished long ago,
	// so that the purge takes no other test's tombstone.)
	long := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := s.FinishDeletion(ctx, Deletion{Account: k}, long); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PurgeTombstones(ctx, long.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	if erased, _ := s.Erasures(ctx); erased.accounts[k.String()] != (time.Time{}) {
		t.Error("purged tombstone still an erasure")
	}
}

func containsDeletion(ds []Deletion, k account.Key) bool {
	for _, d := range ds {
		if d.Account == k {
			return true
		}
	}
	return false
}

func TestBlobs(t *testing.T) {
	s, ctx := open(t), context.Background()
	container := testenv.Name("c")
	if _, err := s.GetBlob(ctx, container, "x"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("missing blob: got %v, want NotFound", err)
	}
	for _, n := range []string{"a/1", "a/2", "b/1"} {
		if err := s.PutBlob(ctx, container, n, []byte("data "+n)); err != nil {
			t.Fatal(err)
		}
	}
	b, err := s.GetBlob(ctx, container, "a/2")
	if err != nil || string(b) != "data a/2" {
		t.Errorf("get: %q, %v", b, err)
	}
	n, err := s.DeleteBlobs(ctx, container, "a/")
	if err != nil || n != 2 {
		t.Errorf("delete prefix: %d, %v", n, err)
	}
	left, _ := s.ListBlobs(ctx, container, "")
	if len(left) != 1 || left[0] != "b/1" {
		t.Errorf("left %v", left)
	}
	if err := s.DeleteBlob(ctx, container, "a/1"); err != nil {
		t.Errorf("deleting a missing blob: %v", err)
	}
}

func TestRecipientsReplaceCopyDelete(t *testing.T) {
	s, ctx := open(t), context.Background()
	from, to := testenv.Name("c"), testenv.Name("c")
	var rows []Recipient
	for i := range 250 {
		rows = append(rows, Recipient{Row: i + 2, Cells: []string{"r" + strconv.Itoa(i) + "@example.com", "Name " + strconv.Itoa(i)}, Status: "pending"})
	}
	// A row with a cell longer than one property holds, and emoji across a chunk boundary.
	big := strings.Repeat("é", chunkRunes-3) + "😀😀😀😀"
	rows = append(rows, Recipient{Row: 300, Cells: []string{"big@example.com", big}, Status: "skipped", Reason: campaign.Reason{Code: "x", Text: "y"}})
	if err := s.ReplaceRecipients(ctx, from, rows); err != nil {
		t.Fatal(err)
	}
	if err := s.ReplaceRecipients(ctx, from, rows[:251]); err != nil {
		t.Fatal(err)
	}
	var got []Recipient
	if err := s.ForEachRecipient(ctx, from, func(r Recipient) error { got = append(got, r); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(got) != 251 || got[0].Row != 2 || got[250].Row != 300 || got[250].Cells[1] != big || got[250].Reason.Code != "x" {
		t.Fatalf("read back %d rows; last %+v", len(got), got[len(got)-1].Row)
	}
	if n, err := s.CopyRecipients(ctx, from, to); err != nil || n != 251 {
		t.Fatalf("copy: %d %v", n, err)
	}
	if n, err := s.DeleteRecipients(ctx, from); err != nil || n != 251 {
		t.Fatalf("delete: %d %v", n, err)
	}
	count := 0
	_ = s.ForEachRecipient(ctx, to, func(Recipient) error { count++; return nil })
	if count != 251 {
		t.Errorf("the copy has %d rows after deleting the source", count)
	}
	huge := Recipient{Row: 2, Cells: []string{strings.Repeat("x", chunkRunes*maxChunks)}}
	var tooLarge ErrRowTooLarge
	if err := s.ReplaceRecipients(ctx, to, []Recipient{huge}); !errors.As(err, &tooLarge) || tooLarge.Row != 2 {
		t.Errorf("an oversized row: %v", err)
	}
}

func TestCampaignsPageAndAddress(t *testing.T) {
	s, ctx := open(t), context.Background()
	k := newKey()
	now := time.Now().UTC()
	for i := range 3 {
		c := Campaign{Account: k, ID: fmt.Sprintf("c%d", 9-i), Name: "n", Status: "draft", AddressHash: testenv.Name("h"), CreatedAt: now, UpdatedAt: now,
			Data: DataSummary{Columns: []string{"Email", "Name"}, Rows: 3, ValidRows: 2, Report: `{"rows":3}`}}
		if err := s.CreateCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	var ids []string
	cursor := ""
	for {
		page, err := s.Campaigns(ctx, k, 2, cursor)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range page.Campaigns {
			ids = append(ids, c.ID)
			if c.Data.Rows != 3 || len(c.Data.Columns) != 2 {
				t.Errorf("data summary lost: %+v", c.Data)
			}
		}
		if cursor = page.Next; cursor == "" {
			break
		}
	}
	if strings.Join(ids, ",") != "c7,c8,c9" {
		t.Errorf("paged ids %v", ids)
	}
	c, err := s.Campaign(ctx, k, "c8")
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.LookupAddress(ctx, c.AddressHash)
	if err != nil || a.CampaignID != "c8" || a.Account != k {
		t.Errorf("address lookup: %+v %v", a, err)
	}
	other := newKey()
	if _, err := s.Campaign(ctx, other, "c8"); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("another account's campaign: %v", err)
	}
}

func TestCampaignsToSweep(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	k := account.Key{TenantID: testenv.Name("t"), ObjectID: "o"}
	now := time.Now().UTC()
	for id, c := range map[string]Campaign{
		"sending": {Status: "sending"}, "queued": {Status: "queued"}, "ready": {Status: "ready"},
		"cancelled-recent":  {Status: "cancelled", NextStepAt: now.Add(-time.Hour)},
		"cancelled-settled": {Status: "cancelled", NextStepAt: now.Add(-48 * time.Hour)},
	} {
		c.Account, c.ID, c.AddressHash = k, id, testenv.Name("h")
		if err := st.CreateCampaign(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	cs, err := st.CampaignsToSweep(ctx, now.Add(-24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range cs {
		if c.Account == k {
			got = append(got, c.ID)
		}
	}
	sort.Strings(got)
	if strings.Join(got, ",") != "cancelled-recent,queued,sending" {
		t.Errorf("swept %v", got)
	}
}

// ExportTables writes every entity once, as a JSON line naming its table;
// PutBlobStream stores what it produces.
func TestExportTablesToBlob(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	k := account.Key{TenantID: testenv.Name("t"), ObjectID: "o"}
	id := testenv.Name("c")
	if err := st.CreateCampaign(ctx, Campaign{Account: k, ID: id, Name: "Backed up", Status: "draft", AddressHash: testenv.Name("h")}); err != nil {
		t.Fatal(err)
	}
	name := testenv.Name("test/") + ".jsonl.gz"
	var tables, entities int
	err := st.PutBlobStream(ctx, "backups", name, func(w io.Writer) error {
		zw := gzip.NewWriter(w)
		var err error
		if tables, entities, err = st.ExportTables(ctx, zw, time.Time{}); err != nil {
			return err
		}
		return zw.Close()
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, err := st.GetBlob(ctx, "backups", name)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	found, lines := 0, 0
	sc := bufio.NewScanner(zr)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		lines++
		var l struct {
			Table  string
			Entity map[string]any
		}
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("line %d: %v", lines, err)
		}
		if l.Table == "campaigns" && l.Entity["RowKey"] == id && l.Entity["Name"] == "Backed up" {
			found++
		}
	}
	if found != 1 || lines != entities || tables < 2 {
		t.Errorf("campaign found %d times; %d lines, %d entities, %d tables", found, lines, entities, tables)
	}
	_ = st.DeleteBlob(ctx, "backups", name)
}

// An export restores what was deleted since, and only what keep selects.
func TestRestoreTables(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	k := account.Key{TenantID: testenv.Name("t"), ObjectID: "o"}
	id := testenv.Name("c")
	if err := st.CreateCampaign(ctx, Campaign{Account: k, ID: id, Name: "Restored", Status: "draft", AddressHash: testenv.Name("h"), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, _, err := st.ExportTables(ctx, &buf, time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteCampaignRow(ctx, k, id); err != nil {
		t.Fatal(err)
	}
	n, _, err := st.RestoreTables(ctx, bytes.NewReader(buf.Bytes()), func(table, pk string) bool {
		return table == "campaigns" && pk == k.String()
	}, nil)
	if err != nil || n != 1 {
		t.Fatalf("restored %d, %v", n, err)
	}
	c, err := st.Campaign(ctx, k, id)
	if err != nil || c.Name != "Restored" || c.CreatedAt.IsZero() {
		t.Errorf("after restore: %+v %v", c, err)
	}
}

// An export since a time holds what was written from then on, not before.
func TestExportChangesSince(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	k := newKey()
	before, after := testenv.Name("c"), testenv.Name("c")
	if err := st.CreateCampaign(ctx, Campaign{Account: k, ID: before, Name: "Before", Status: "draft", AddressHash: testenv.Name("h")}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	since := time.Now()
	time.Sleep(1100 * time.Millisecond)
	if err := st.CreateCampaign(ctx, Campaign{Account: k, ID: after, Name: "After", Status: "draft", AddressHash: testenv.Name("h")}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, _, err := st.ExportTables(ctx, &buf, since); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	if !strings.Contains(text, `"RowKey":"`+after+`"`) || strings.Contains(text, `"RowKey":"`+before+`"`) {
		t.Errorf("changes since the middle: after %v, before %v", strings.Contains(text, after), strings.Contains(text, before))
	}
}

// A restore never brings back a deleted account or campaign: not its
// campaigns, rows, address, mailbox or debug entries, whether the deletion
// is known to the live tables (a tombstone) or only to the export.
func TestRestoreSkipsErasedData(t *testing.T) {
	st := open(t)
	ctx := context.Background()
	kept, gone := newKey(), newKey()
	keptID, goneID, goneCampaign := testenv.Name("c"), testenv.Name("c"), testenv.Name("c")
	hashes := map[string]bool{} // our address hashes
	seed := func(k account.Key, id string) {
		t.Helper()
		if err := st.CreateAccount(ctx, Account{Key: k, Email: "x@contoso.example", CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		hash := testenv.Name("h")
		hashes[hash] = true
		if err := st.CreateCampaign(ctx, Campaign{Account: k, ID: id, Name: "N", Status: "draft", AddressHash: hash}); err != nil {
			t.Fatal(err)
		}
		if err := st.PutAddress(ctx, hash, k, id); err != nil {
			t.Fatal(err)
		}
		if err := st.ReplaceRecipients(ctx, id, []Recipient{{Row: 2, Cells: []string{"r@contoso.example"}, Status: "pending"}}); err != nil {
			t.Fatal(err)
		}
	}
	seed(kept, keptID)
	seed(gone, goneID)
	// A person who deleted their account and signed in again has the same
	// account key: what they have since is theirs, and is restored.
	back, oldID, newID := newKey(), testenv.Name("c"), testenv.Name("c")
	seed(back, oldID)
	if err := st.DeleteAccountRow(ctx, back); err != nil {
		t.Fatal(err)
	}
	if err := st.FinishDeletion(ctx, Deletion{Account: back}, time.Now()); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	seed(back, newID)
	goneHash := testenv.Name("h")
	hashes[goneHash] = true
	if err := st.CreateCampaign(ctx, Campaign{Account: kept, ID: goneCampaign, Name: "N", Status: "draft", AddressHash: goneHash}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutAddress(ctx, goneHash, kept, goneCampaign); err != nil {
		t.Fatal(err)
	}
	if err := st.ReplaceRecipients(ctx, goneCampaign, []Recipient{{Row: 2, Cells: []string{"r@contoso.example"}, Status: "pending"}}); err != nil {
		t.Fatal(err)
	}
	// The campaign's deletion is in the export only (recorded, then lost
	// with the live tables); the account's is a tombstone in the live table.
	if err := st.RecordDeletion(ctx, Deletion{Account: kept, CampaignID: goneCampaign, RequestedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if _, _, err := st.ExportTables(ctx, &buf, time.Time{}); err != nil {
		t.Fatal(err)
	}
	_ = st.FinishDeletion(ctx, Deletion{Account: kept, CampaignID: goneCampaign}, time.Now())
	_ = st.deleteEntity(ctx, tableDeletions, tombstonePartition, Deletion{Account: kept, CampaignID: goneCampaign}.rowKey())
	if err := st.FinishDeletion(ctx, Deletion{Account: gone}, time.Now()); err != nil {
		t.Fatal(err)
	}
	// Everything is lost.
	for _, c := range []struct {
		k  account.Key
		id string
	}{{kept, keptID}, {gone, goneID}, {kept, goneCampaign}, {back, oldID}, {back, newID}} {
		if _, err := st.DeleteRecipients(ctx, c.id); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteCampaignRow(ctx, c.k, c.id); err != nil {
			t.Fatal(err)
		}
		if err := st.DeleteAccountRow(ctx, c.k); err != nil {
			t.Fatal(err)
		}
	}
	erased, err := st.Erasures(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := erased.Learn(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	ours := func(table, pk string) bool {
		for _, p := range []string{kept.TenantID, gone.TenantID, keptID, goneID, goneCampaign, back.TenantID, oldID, newID} {
			if strings.HasPrefix(pk, p) {
				return table != tableDeletions
			}
		}
		return false
	}
	written, skipped, err := st.RestoreTables(ctx, bytes.NewReader(buf.Bytes()), ours, erased)
	if err != nil {
		t.Fatal(err)
	}
	// kept: account, campaign, recipient (address hashes are random, not ours()).
	// gone: account, campaign, recipient; goneCampaign: campaign, recipient.
	// back: the new account, campaign and recipient; not the old campaign
	// and recipient (the old account row was gone before the export).
	if written != 6 || skipped != 7 {
		t.Errorf("wrote %d, skipped %d; want 6 and 7", written, skipped)
	}
	if _, err := st.Campaign(ctx, back, newID); err != nil {
		t.Errorf("the returning person's new campaign not restored: %v", err)
	}
	if _, err := st.Campaign(ctx, back, oldID); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("the returning person's deleted campaign restored: %v", err)
	}
	if _, err := st.Campaign(ctx, kept, keptID); err != nil {
		t.Errorf("kept campaign not restored: %v", err)
	}
	if _, err := st.Campaign(ctx, gone, goneID); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("deleted account's campaign restored: %v", err)
	}
	if _, err := st.Account(ctx, gone); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("deleted account restored: %v", err)
	}
	if _, err := st.Campaign(ctx, kept, goneCampaign); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("deleted campaign restored: %v", err)
	}
	if _, err := st.Recipient(ctx, goneID, 2); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("deleted account's rows restored: %v", err)
	}
	// Addresses carry their owner in properties.
	var addresses int
	_ = eachBackupEntity(bytes.NewReader(buf.Bytes()), func(b backupEntity) error {
		if b.table == tableAddresses && hashes[b.pk] && erased.erased(b) {
			addresses++
		}
		return nil
	})
	if addresses != 3 {
		t.Errorf("%d erased addresses, want 3 (gone's, goneCampaign's, back's old one)", addresses)
	}
}

// A deletion that was under way when an export was taken, and has finished
// since, is not restored as under way: it would run again, over whatever
// its person has had since signing in again.
func TestRestoreSkipsFinishedDeletions(t *testing.T) {
	e := newErasures()
	e.add("t_o", time.Now())
	e.add("t_x", time.Time{})
	for rk, want := range map[string]bool{"t_o": true, "t_x": false, "t_y": false} {
		b := backupEntity{table: tableDeletions, pk: deletionPartition, rk: rk}
		if got := e.erased(b); got != want {
			t.Errorf("pending deletion %s skipped: %v, want %v", rk, got, want)
		}
	}
	if e.erased(backupEntity{table: tableDeletions, pk: tombstonePartition, rk: "t_o"}) {
		t.Error("a tombstone was skipped")
	}
}

// A mailbox state that an older version wrote (send times one by one), or
// one that does not decode at all, is read rather than refused: a refused
// state would stop the mailbox's campaigns for good.
func TestMailboxStateOfOlderVersions(t *testing.T) {
	st, ctx := open(t), context.Background()
	for _, c := range []struct {
		name, state string
		sends       int
		hours       int
	}{
		{"send times one by one", `{"sends":["2026-11-28T16:00:00.05Z","2026-11-28T16:00:00.06Z","2026-11-28T16:00:01Z"],"hours":{"493504":3},"leases":[]}`, 3, 1},
		{"not JSON", `{"sends":`, 0, 0},
		{"a part of another shape", `{"sends":{"a":1},"hours":{"493504":2},"leases":"none"}`, 0, 1},
	} {
		key := testenv.Name("mbx")
		e := newEntity(key, "")
		e.Properties["State"] = c.state
		if err := st.replaceEntity(ctx, tableMailboxes, e, ""); err != nil {
			t.Fatal(err)
		}
		m, err := st.Mailbox(ctx, key)
		if err != nil || len(m.Sends) != c.sends || len(m.Hours) != c.hours || m.ETag == "" {
			t.Errorf("%s: %d sends, %d hours, etag %q, %v", c.name, len(m.Sends), len(m.Hours), m.ETag, err)
		}
		// It is written back in the current form.
		if err := st.SaveMailbox(ctx, m); err != nil {
			t.Errorf("%s: save: %v", c.name, err)
		}
		_ = st.DeleteMailbox(ctx, key)
	}
}

// Rows deleted after the hour's whole export stay deleted in a restore to a
// later point: a campaign's rows replaced by a shorter upload, an address
// removed. The exports carry the removal records.
func TestRestoreLeavesOutRemovedRows(t *testing.T) {
	st, ctx := open(t), context.Background()
	k, id, hash := newKey(), testenv.Name("c"), testenv.Name("h")
	if err := st.ReplaceRecipients(ctx, id, []Recipient{{Row: 2, Cells: []string{"old2"}}, {Row: 3, Cells: []string{"old3"}}, {Row: 4, Cells: []string{"old4"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.PutAddress(ctx, hash, k, id); err != nil {
		t.Fatal(err)
	}
	var whole, changes bytes.Buffer
	if _, _, err := st.ExportTables(ctx, &whole, time.Time{}); err != nil {
		t.Fatal(err)
	}
	since := time.Now().Add(-2 * time.Minute)
	time.Sleep(20 * time.Millisecond)
	if err := st.ReplaceRecipients(ctx, id, []Recipient{{Row: 2, Cells: []string{"new2"}}, {Row: 3, Cells: []string{"new3"}}}); err != nil {
		t.Fatal(err)
	}
	if err := st.DeleteAddress(ctx, hash); err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.ExportTables(ctx, &changes, since); err != nil {
		t.Fatal(err)
	}
	// The tables are lost (not a deletion of ours: nothing recorded).
	for _, rk := range []string{RecipientRowKey(2), RecipientRowKey(3)} {
		if err := st.removeEntity(ctx, tableRecipients, id, rk); err != nil {
			t.Fatal(err)
		}
	}
	erased := newErasures()
	for _, export := range []*bytes.Buffer{&whole, &changes} {
		if err := erased.Learn(bytes.NewReader(export.Bytes())); err != nil {
			t.Fatal(err)
		}
	}
	ours := func(table, pk string) bool { return pk == id || pk == hash }
	for _, export := range []*bytes.Buffer{&whole, &changes} {
		if _, _, err := st.RestoreTables(ctx, bytes.NewReader(export.Bytes()), ours, erased); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	if err := st.ForEachRecipient(ctx, id, func(r Recipient) error {
		got = append(got, fmt.Sprint(r.Row, r.Cells))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, " ") != "2 [new2] 3 [new3]" {
		t.Errorf("restored rows %v, want rows 2 and 3 of the second upload only", got)
	}
	if _, err := st.LookupAddress(ctx, hash); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("removed address restored: %v", err)
	}
	_, _ = st.DeleteRecipients(ctx, id)
}

// Removal records go by day, once no export needs them.
func TestPurgeRemovals(t *testing.T) {
	st, ctx := open(t), context.Background()
	e := newEntity("2001-01-01", testenv.Name("r"))
	e.Properties["Table"] = "recipients"
	if err := st.addEntity(ctx, tableRemovals, e); err != nil {
		t.Fatal(err)
	}
	if n, err := st.PurgeRemovals(ctx, time.Date(2001, 1, 2, 0, 0, 0, 0, time.UTC)); err != nil || n != 1 {
		t.Errorf("purged %d days, %v; want 1", n, err)
	}
	if _, _, err := st.getEntity(ctx, tableRemovals, e.PartitionKey, e.RowKey); !apperr.Is(err, apperr.NotFound) {
		t.Errorf("removal record still there: %v", err)
	}
}
