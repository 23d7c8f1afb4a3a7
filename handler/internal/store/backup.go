package store

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// backupLine is one entity in an export: its table and the entity as the
// service returned it (keys, typed properties, timestamp).
type backupLine struct {
	Table  string          `json:"table"`
	Entity json.RawMessage `json:"entity"`
}

// ExportTables writes the entities of every table of the account to w, one
// JSON line each, table by table: all of them when since is zero, else
// those written at or after since (by the service's Timestamp), which is
// what an incremental export holds. It returns how many tables and
// entities it wrote.
func (s *Store) ExportTables(ctx context.Context, w io.Writer, since time.Time) (tables, entities int, err error) {
	var names []string
	pager := s.tables.NewListTablesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return 0, 0, fmt.Errorf("list tables: %w", translate(err))
		}
		for _, t := range page.Tables {
			if t.Name != nil {
				names = append(names, *t.Name)
			}
		}
	}
	opts := &aztables.ListEntitiesOptions{}
	if !since.IsZero() {
		filter := "Timestamp ge " + filterTime(since)
		opts.Filter = &filter
	}
	enc := json.NewEncoder(w)
	for _, name := range names {
		p := s.table(name).NewListEntitiesPager(opts)
		for p.More() {
			page, err := p.NextPage(ctx)
			if err != nil {
				return tables, entities, fmt.Errorf("export %s: %w", name, translate(err))
			}
			for _, raw := range page.Entities {
				if err := enc.Encode(backupLine{Table: name, Entity: raw}); err != nil {
					return tables, entities, err
				}
				entities++
			}
		}
		tables++
	}
	return tables, entities, nil
}

// PutBlobStream writes a blob from what write produces, streaming: the
// content is never held whole in memory.
func (s *Store) PutBlobStream(ctx context.Context, container, name string, write func(io.Writer) error) error {
	if _, err := s.blobs.CreateContainer(ctx, container, nil); err != nil && !bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return fmt.Errorf("create container %s: %w", container, translate(err))
	}
	r, w := io.Pipe()
	go func() { w.CloseWithError(write(w)) }()
	_, err := s.blobs.UploadStream(ctx, container, name, r, nil)
	r.CloseWithError(err)
	return translate(err)
}

// OpenBlob reads container/name as a stream; a missing blob is NotFound.
// The caller closes it.
func (s *Store) OpenBlob(ctx context.Context, container, name string) (io.ReadCloser, error) {
	resp, err := s.blobs.DownloadStream(ctx, container, name, nil)
	if err != nil {
		return nil, translate(err)
	}
	return resp.Body, nil
}

// backupEntity is one decoded line of an export, with the service's
// Timestamp: when it was last written.
type backupEntity struct {
	table   string
	pk, rk  string
	props   map[string]any
	written time.Time
}

// eachBackupEntity decodes an export line by line.
func eachBackupEntity(r io.Reader, fn func(backupEntity) error) error {
	dec := json.NewDecoder(bufio.NewReaderSize(r, 1<<16))
	for n := 1; ; n++ {
		var l backupLine
		err := dec.Decode(&l)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("backup line %d: %w", n, err)
		}
		var props map[string]any
		if err := json.Unmarshal(l.Entity, &props); err != nil {
			return fmt.Errorf("backup line %d: %w", n, err)
		}
		pk, _ := props["PartitionKey"].(string)
		rk, _ := props["RowKey"].(string)
		b := backupEntity{table: l.Table, pk: pk, rk: rk, props: props}
		b.written = b.time("Timestamp")
		if err := fn(b); err != nil {
			return err
		}
	}
}

// Erasures are what a restore must not write back. First, the accounts and
// campaigns whose deletion it must not undo: every deletion, finished (a
// tombstone) or under way, known to the live tables or to the exports being
// restored; a restore skips whatever belongs to them, so deleted data never
// comes back. Second, the rows the exports record as deleted before the
// recovery point (tableRemovals). A person may sign in again after
// deleting their account, under the same account key: what was written
// after the deletion finished belongs to the new account and is restored.
type Erasures struct {
	accounts  map[string]time.Time       // account key -> entities written before this are erased
	campaigns map[string]bool            // campaign id
	owned     map[string][]ownedCampaign // account key -> its campaigns, from the exports
	finished  map[string]bool            // deletion row key -> known to have finished
	// removed are the rows deleted before the recovery point, by
	// table and partition key (see tableRemovals).
	removed map[string][]removal
}

// ownedCampaign is a campaign id and when its entity was last written.
type ownedCampaign struct {
	id string
	at time.Time
}

// underWay erases everything of an account whose deletion has not finished.
var underWay = time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC)

func newErasures() *Erasures {
	return &Erasures{accounts: map[string]time.Time{}, campaigns: map[string]bool{}, owned: map[string][]ownedCampaign{}, finished: map[string]bool{},
		removed: map[string][]removal{}}
}

// Erasures reads the deletions recorded in the live tables.
func (s *Store) Erasures(ctx context.Context) (*Erasures, error) {
	e := newErasures()
	err := s.list(ctx, tableDeletions, &aztables.ListEntitiesOptions{}, func(en entity) error {
		e.add(en.RowKey, getTime(en, "FinishedAt"))
		return nil
	})
	return e, err
}

// add records a deletion: its row key (an account key, or
// "<account>|<campaign>") and when it finished (zero: under way).
func (e *Erasures) add(rowKey string, finished time.Time) {
	if !finished.IsZero() {
		e.finished[rowKey] = true
	}
	account, campaign, ok := strings.Cut(rowKey, "|")
	switch {
	case ok:
		e.campaigns[campaign] = true
	case account != "":
		if finished.IsZero() {
			finished = underWay
		}
		if finished.After(e.accounts[account]) {
			e.accounts[account] = finished
		}
	}
}

// Learn reads an export for the deletions it records and for which account
// owns which campaign (rows of a deleted account's campaigns carry only
// the campaign id). Call it for every export before restoring any.
func (e *Erasures) Learn(r io.Reader) error {
	return eachBackupEntity(r, func(b backupEntity) error {
		switch b.table {
		case tableDeletions:
			e.add(b.rk, b.time("FinishedAt"))
		case tableCampaigns:
			e.owned[b.pk] = append(e.owned[b.pk], ownedCampaign{id: b.rk, at: b.written})
		case tableRemovals:
			table, _ := b.props["Table"].(string)
			pk, _ := b.props["PK"].(string)
			rk, _ := b.props["RK"].(string)
			partition, _ := b.props["Partition"].(bool)
			key := table + "\x00" + pk
			e.removed[key] = append(e.removed[key], removal{rk: rk, partition: partition, at: b.written})
		}
		return nil
	})
}

// time reads a date property of an exported entity (zero when absent).
func (b backupEntity) time(key string) time.Time {
	s, _ := b.props[key].(string)
	t, _ := time.Parse(time.RFC3339Nano, s)
	return t
}

// Count says how many accounts and campaigns are erased.
func (e *Erasures) Count() (accounts, campaigns int) { return len(e.accounts), len(e.campaigns) }

// seal adds to the erased campaigns those the erased accounts had before
// their deletion.
func (e *Erasures) seal() {
	for account, until := range e.accounts {
		for _, c := range e.owned[account] {
			if c.at.Before(until) {
				e.campaigns[c.id] = true
			}
		}
	}
}

// erased says whether an entity must not be written back: it was deleted
// before the recovery point, or it belongs to an erased account or
// campaign (by where each table keeps its owner; see the data model in
// store.go).
func (e *Erasures) erased(b backupEntity) bool {
	for _, r := range e.removed[b.table+"\x00"+b.pk] {
		if r.covers(b.rk, b.written) {
			return true
		}
	}
	account := func(key string) bool {
		until, ok := e.accounts[key]
		return ok && b.written.Before(until)
	}
	switch b.table {
	case tableAccounts:
		return account(b.pk + "_" + b.rk)
	case tableCampaigns:
		return account(b.pk) || e.campaigns[b.rk]
	case tableRecipients:
		return e.campaigns[b.pk]
	case tableAddresses:
		owner, _ := b.props["Account"].(string)
		campaign, _ := b.props["CampaignID"].(string)
		return account(owner) || e.campaigns[campaign]
	case tableMailboxes, tableDebugLog:
		return account(b.pk)
	case tableUnsubscribeLinks:
		owner, _ := b.props["Account"].(string)
		return account(owner)
	case tableDeletions:
		// A deletion under way in the export but finished since is not
		// started again: its person may have signed in again meanwhile.
		return b.pk == deletionPartition && e.finished[b.rk]
	}
	return false
}

// RestoreTables writes back the entities of an export read from r (see
// ExportTables) for which keep(table, partitionKey) is true and that erased
// does not rule out, replacing what is there. It returns how many it wrote
// and how many it skipped as erased.
func (s *Store) RestoreTables(ctx context.Context, r io.Reader, keep func(table, partition string) bool, erased *Erasures) (written, skipped int, err error) {
	if erased != nil {
		erased.seal()
	}
	err = eachBackupEntity(r, func(b backupEntity) error {
		if !keep(b.table, b.pk) {
			return nil
		}
		if erased != nil && erased.erased(b) {
			skipped++
			return nil
		}
		// The service's own annotations are not part of the entity.
		for k := range b.props {
			if strings.HasPrefix(k, "odata.") || k == "Timestamp" || k == "Timestamp@odata.type" {
				delete(b.props, k)
			}
		}
		raw, err := json.Marshal(b.props)
		if err != nil {
			return err
		}
		if err := s.onTable(ctx, b.table, func(c *aztables.Client) error {
			_, err := c.UpsertEntity(ctx, raw, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
			return err
		}); err != nil {
			return fmt.Errorf("restore %s: %w", b.table, translate(err))
		}
		written++
		return nil
	})
	return written, skipped, err
}
