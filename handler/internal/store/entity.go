package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"golang.org/x/sync/errgroup"
)

// entity is one table row being written: keys plus typed properties.
type entity = aztables.EDMEntity

func newEntity(pk, rk string) entity {
	return entity{Entity: aztables.Entity{PartitionKey: pk, RowKey: rk}, Properties: map[string]any{}}
}

// setTime stores t as Edm.DateTime; the zero time is left out.
func setTime(e entity, key string, t time.Time) {
	if !t.IsZero() {
		e.Properties[key] = aztables.EDMDateTime(t.UTC())
	}
}

func getString(e entity, key string) string {
	s, _ := e.Properties[key].(string)
	return s
}

func getBool(e entity, key string) bool {
	b, _ := e.Properties[key].(bool)
	return b
}

// getInt reads an Edm.Int32 (a JSON number) or Edm.Int64 (a string) property.
func getInt(e entity, key string) int {
	switch v := e.Properties[key].(type) {
	case float64:
		return int(v)
	case int32:
		return int(v)
	case int64:
		return int(v)
	case aztables.EDMInt64:
		return int(v)
	}
	return 0
}

// splitAccountKey reverses account.Key.String.
func splitAccountKey(s string) (tid, oid string, err error) {
	tid, oid, ok := strings.Cut(s, "_")
	if !ok {
		return "", "", fmt.Errorf("malformed account key %q", s)
	}
	return tid, oid, nil
}

func getTime(e entity, key string) time.Time {
	if t, ok := e.Properties[key].(aztables.EDMDateTime); ok {
		return time.Time(t).UTC()
	}
	return time.Time{}
}

func decode(raw []byte) (entity, error) {
	var e entity
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("decode entity: %w", err)
	}
	return e, nil
}

// getEntity reads one row.
func (s *Store) getEntity(ctx context.Context, table, pk, rk string) (entity, string, error) {
	var raw []byte
	var etag azcore.ETag
	err := s.onTable(ctx, table, func(c *aztables.Client) error {
		resp, err := c.GetEntity(ctx, pk, rk, nil)
		raw, etag = resp.Value, resp.ETag
		return err
	})
	if err != nil {
		return entity{}, "", translate(err)
	}
	e, err := decode(raw)
	return e, string(etag), err
}

// addEntity inserts a row; an existing row is a Conflict.
func (s *Store) addEntity(ctx context.Context, table string, e entity) error {
	raw, err := json.Marshal(e)
	if err != nil {
		return fmt.Errorf("encode entity: %w", err)
	}
	return translate(s.onTable(ctx, table, func(c *aztables.Client) error {
		_, err := c.AddEntity(ctx, raw, nil)
		return err
	}))
}

// replaceEntity overwrites a row if its ETag still matches; a changed row is a
// Conflict. An empty etag writes unconditionally (insert or replace).
func (s *Store) replaceEntity(ctx context.Context, table string, e entity, etag string) error {
	_, err := s.replaceEntityTag(ctx, table, e, etag)
	return err
}

// replaceEntityTag is replaceEntity returning the entity's new ETag.
func (s *Store) replaceEntityTag(ctx context.Context, table string, e entity, etag string) (string, error) {
	raw, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode entity: %w", err)
	}
	var newTag azcore.ETag
	err = translate(s.onTable(ctx, table, func(c *aztables.Client) error {
		if etag == "" {
			resp, err := c.UpsertEntity(ctx, raw, &aztables.UpsertEntityOptions{UpdateMode: aztables.UpdateModeReplace})
			newTag = resp.ETag
			return err
		}
		tag := azcore.ETag(etag)
		resp, err := c.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &tag, UpdateMode: aztables.UpdateModeReplace})
		newTag = resp.ETag
		return err
	}))
	return string(newTag), err
}

// deleteEntity removes a row, recording the removal for the backups first;
// a row already gone is not an error, so that deletions can be repeated
// after a crash.
func (s *Store) deleteEntity(ctx context.Context, table, pk, rk string) error {
	if err := s.recordRemoval(ctx, table, pk, rk, false); err != nil {
		return err
	}
	return s.removeEntity(ctx, table, pk, rk)
}

// removeEntity removes a row without recording it (see deleteEntity).
func (s *Store) removeEntity(ctx context.Context, table, pk, rk string) error {
	err := s.onTable(ctx, table, func(c *aztables.Client) error {
		_, err := c.DeleteEntity(ctx, pk, rk, nil)
		return err
	})
	if hasCode(err, "ResourceNotFound") || hasCode(err, "TableNotFound") {
		return nil
	}
	return translate(err)
}

// errStop ends a listOf early without an error.
var errStop = errors.New("stop listing")

// query calls fn for every row matching filter, page by page.
func (s *Store) query(ctx context.Context, table, filter string, fn func(entity) error) error {
	return s.list(ctx, table, &aztables.ListEntitiesOptions{Filter: &filter}, fn)
}

// list calls fn for every row the options select, page by page, until fn
// returns errStop or an error. A missing table has no rows.
func (s *Store) list(ctx context.Context, table string, opts *aztables.ListEntitiesOptions, fn func(entity) error) error {
	err := s.onTable(ctx, table, func(c *aztables.Client) error {
		pager := c.NewListEntitiesPager(opts)
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return err
			}
			for _, raw := range page.Entities {
				e, err := decode(raw)
				if err != nil {
					return err
				}
				if err := fn(e); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if hasCode(err, "TableNotFound") || errors.Is(err, errStop) {
		return nil
	}
	return translate(err)
}

// deletePartition removes every row of one partition (recording the
// removal for the backups first), in entity group
// transactions of up to 100 rows (the service's limit per batch), a few at a
// time.
func (s *Store) deletePartition(ctx context.Context, table, pk string) (int, error) {
	var keys []string
	filter, sel := fmt.Sprintf("PartitionKey eq '%s'", escapeFilter(pk)), "RowKey"
	err := s.list(ctx, table, &aztables.ListEntitiesOptions{Filter: &filter, Select: &sel}, func(e entity) error {
		keys = append(keys, e.RowKey)
		return nil
	})
	if err != nil || len(keys) == 0 {
		return 0, err
	}
	if err := s.recordRemoval(ctx, table, pk, "", true); err != nil {
		return 0, err
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(4)
	client := s.table(table)
	for start := 0; start < len(keys); start += 100 {
		chunk := keys[start:min(start+100, len(keys))]
		g.Go(func() error {
			actions := make([]aztables.TransactionAction, 0, len(chunk))
			for _, rk := range chunk {
				raw, _ := json.Marshal(aztables.Entity{PartitionKey: pk, RowKey: rk})
				actions = append(actions, aztables.TransactionAction{ActionType: aztables.TransactionTypeDelete, Entity: raw})
			}
			if _, err := client.SubmitTransaction(gctx, actions, nil); err == nil {
				return nil
			}
			// A row deleted meanwhile fails the whole batch: fall back to one by one.
			for _, rk := range chunk {
				if err := s.removeEntity(gctx, table, pk, rk); err != nil {
					return err
				}
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return 0, err
	}
	return len(keys), nil
}

// escapeFilter doubles single quotes for an OData string literal.
func escapeFilter(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(out)
}

// filterTime formats t as an OData datetime literal.
func filterTime(t time.Time) string {
	return "datetime'" + t.UTC().Format(time.RFC3339Nano) + "'"
}
