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

// backupEntity is one decoded line of an export.
type backupEntity struct {
	table  string
	pk, rk string
	props  map[string]any
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
		if err := fn(backupEntity{table: l.Table, pk: pk, rk: rk, props: props}); err != nil {
			return err
		}
	}
}

// Erasures are the accounts and campaigns whose deletion a restore must not
// undo: every deletion, finished (a tombstone) or under way, known to the
// live tables or to the exports being restored. A restore skips whatever
// belongs to them, so deleted data never comes back.
type Erasures struct {
	accounts  map[string]bool     // account key
	campaigns map[string]bool     // campaign id
	owned     map[string][]string // account key -> its campaign ids, from the exports
}

// Erasures reads the deletions recorded in the live tables.
func (s *Store) Erasures(ctx context.Context) (*Erasures, error) {
	e := &Erasures{accounts: map[string]bool{}, campaigns: map[string]bool{}, owned: map[string][]string{}}
	err := s.list(ctx, tableDeletions, &aztables.ListEntitiesOptions{}, func(en entity) error {
		e.add(en.RowKey)
		return nil
	})
	return e, err
}

// add records a deletion row key: an account key, or "<account>|<campaign>".
func (e *Erasures) add(rowKey string) {
	if account, campaign, ok := strings.Cut(rowKey, "|"); ok {
		e.campaigns[campaign] = true
	} else if account != "" {
		e.accounts[account] = true
	}
}

// Learn reads an export for the deletions it records and for which account
// owns which campaign (rows of a deleted account's campaigns carry only
// the campaign id). Call it for every export before restoring any.
func (e *Erasures) Learn(r io.Reader) error {
	return eachBackupEntity(r, func(b backupEntity) error {
		switch b.table {
		case tableDeletions:
			e.add(b.rk)
		case tableCampaigns:
			e.owned[b.pk] = append(e.owned[b.pk], b.rk)
		}
		return nil
	})
}

// Count says how many accounts and campaigns are erased.
func (e *Erasures) Count() (accounts, campaigns int) { return len(e.accounts), len(e.campaigns) }

// seal adds the campaigns of erased accounts to the erased campaigns.
func (e *Erasures) seal() {
	for account := range e.accounts {
		for _, id := range e.owned[account] {
			e.campaigns[id] = true
		}
	}
}

// erased says whether an entity belongs to an erased account or campaign,
// by where each table keeps its owner (see the data model in store.go).
func (e *Erasures) erased(b backupEntity) bool {
	switch b.table {
	case tableAccounts:
		return e.accounts[b.pk+"_"+b.rk]
	case tableCampaigns:
		return e.accounts[b.pk] || e.campaigns[b.rk]
	case tableRecipients:
		return e.campaigns[b.pk]
	case tableAddresses:
		account, _ := b.props["Account"].(string)
		campaign, _ := b.props["CampaignID"].(string)
		return e.accounts[account] || e.campaigns[campaign]
	case tableMailboxes, tableDebugLog:
		return e.accounts[b.pk]
	}
	return false
}

// RestoreTables writes back the entities of an export read from r (see
// ExportTables) for which keep(table, partitionKey) is true and that do not
// belong to an erased account or campaign, replacing what is there. It
// returns how many it wrote and how many it skipped as erased.
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
