package store

import (
	"context"
	"encoding/json"
	"fmt"

	"mailmerge/handler/internal/apperr"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
)

// ReadHolding reads what h names, for an export: each table entity as
// the service returns it (JSON with the keys, the typed properties and
// the timestamp) to entity, each blob to blob. Nothing is held in memory
// beyond one page of entities or one blob.
func (s *Store) ReadHolding(ctx context.Context, h Holding, entity func(raw json.RawMessage) error, blob func(name string, data []byte) error) error {
	switch h.Where {
	case Entity, Partition:
		filter := "PartitionKey eq '" + escapeFilter(h.Partition) + "'"
		if h.Where == Entity {
			filter += " and RowKey eq '" + escapeFilter(h.Row) + "'"
		}
		return s.onTable(ctx, h.Table, func(c *aztables.Client) error {
			pager := c.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter})
			for pager.More() {
				page, err := pager.NextPage(ctx)
				if err != nil {
					return translate(err)
				}
				for _, raw := range page.Entities {
					if err := entity(raw); err != nil {
						return err
					}
				}
			}
			return nil
		})
	case Blob, Blobs:
		names := []string{h.Name}
		if h.Where == Blobs {
			var err error
			if names, err = s.ListBlobs(ctx, h.Container, h.Name); err != nil {
				return err
			}
		}
		for _, n := range names {
			data, err := s.GetBlob(ctx, h.Container, n)
			if err != nil {
				if h.Where == Blob && apperr.Is(err, apperr.NotFound) {
					continue
				}
				return err
			}
			if err := blob(n, data); err != nil {
				return err
			}
		}
		return nil
	}
	return fmt.Errorf("holding kind %d unknown", h.Where)
}

// Measure counts what h names in storage: entities or blobs, and their
// bytes (an entity's as the service returns it, a blob's length).
func (s *Store) Measure(ctx context.Context, h Holding) (count int, bytes int64, err error) {
	switch h.Where {
	case Entity, Partition:
		err = s.ReadHolding(ctx, h, func(raw json.RawMessage) error {
			count++
			bytes += int64(len(raw))
			return nil
		}, nil)
		return count, bytes, err
	case Blob, Blobs:
		prefix := h.Name
		err = s.eachBlob(ctx, h.Container, prefix, func(b *container.BlobItem) {
			if h.Where == Blob && *b.Name != h.Name {
				return
			}
			count++
			if b.Properties != nil && b.Properties.ContentLength != nil {
				bytes += *b.Properties.ContentLength
			}
		})
		return count, bytes, err
	}
	return 0, 0, fmt.Errorf("holding kind %d unknown", h.Where)
}

// ForEachBlob calls fn with every blob of every container of the storage
// account (listed from storage itself), for checks that nothing is left.
func (s *Store) ForEachBlob(ctx context.Context, fn func(container, name string, data []byte) error) error {
	pager := s.blobs.NewListContainersPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return translate(err)
		}
		for _, c := range page.ContainerItems {
			names, err := s.ListBlobs(ctx, *c.Name, "")
			if err != nil {
				return err
			}
			for _, n := range names {
				data, err := s.GetBlob(ctx, *c.Name, n)
				if apperr.Is(err, apperr.NotFound) {
					continue // deleted meanwhile
				}
				if err != nil {
					return err
				}
				if err := fn(*c.Name, n, data); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
