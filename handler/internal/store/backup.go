package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
)

// backupLine is one entity in an export: its table and the entity as the
// service returned it (keys, typed properties, timestamp).
type backupLine struct {
	Table  string          `json:"table"`
	Entity json.RawMessage `json:"entity"`
}

// ExportTables writes every entity of every table of the account to w, one
// JSON line each, table by table. It returns how many tables and entities
// it wrote.
func (s *Store) ExportTables(ctx context.Context, w io.Writer) (tables, entities int, err error) {
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
	enc := json.NewEncoder(w)
	for _, name := range names {
		p := s.table(name).NewListEntitiesPager(&aztables.ListEntitiesOptions{})
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

// RestoreTables writes back the entities of an export read from r (see
// ExportTables) for which keep(table, partitionKey) is true, replacing
// what is there. It returns how many it wrote.
func (s *Store) RestoreTables(ctx context.Context, r io.Reader, keep func(table, partition string) bool) (int, error) {
	dec := json.NewDecoder(r)
	n := 0
	for {
		var l backupLine
		err := dec.Decode(&l)
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, fmt.Errorf("backup line %d: %w", n+1, err)
		}
		var props map[string]any
		if err := json.Unmarshal(l.Entity, &props); err != nil {
			return n, fmt.Errorf("backup line %d: %w", n+1, err)
		}
		pk, _ := props["PartitionKey"].(string)
		if !keep(l.Table, pk) {
			continue
		}
		// The service's own annotations are not part of the entity.
		for k := range props {
			if strings.HasPrefix(k, "odata.") || k == "Timestamp" || k == "Timestamp@odata.type" {
				delete(props, k)
			}
		}
		raw, err := json.Marshal(props)
		if err != nil {
			return n, err
		}
		if err := s.onTable(ctx, l.Table, func(c *aztables.Client) error {
			_, err := c.UpsertEntity(ctx, raw, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
			return err
		}); err != nil {
			return n, fmt.Errorf("restore %s: %w", l.Table, translate(err))
		}
		n++
	}
}
