package store

import (
	"context"
	"encoding/json"
	"fmt"
	"io"

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
