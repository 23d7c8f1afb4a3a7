// Package storagescan looks through a whole storage account for data that
// should be gone: every table, blob container and queue, listed from
// storage itself, so that nothing new can hide from a deletion test.
package storagescan

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"mailmerge/handler/internal/store"
)

// Kept names what may hold a deleted account's ids by design: the
// deletion records and tombstones (table deletions), the removal records
// that keep restores from bringing deleted data back (table removals),
// and the deletion tasks themselves (queues account-delete and
// campaign-delete), which carry the ids of what they delete and nothing
// else.
var Kept = map[string]bool{
	"table deletions":       true,
	"table removals":        true,
	"queue account-delete":  true,
	"queue campaign-delete": true,
}

// peekMax is the most messages a queue can show without taking them.
const peekMax = 32

// Item is one thing in storage that holds a needle.
type Item struct {
	// Where is "table <name>", "blob <container>/<name>" or "queue <name>".
	Where string
	// Table, PartitionKey and RowKey name a table entity; Container and
	// Blob a blob.
	Table, PartitionKey, RowKey string
	Container, Blob             string
	// Needle is the first needle it holds.
	Needle string
	// Problem is set for a queue whose messages cannot all be read.
	Problem string
}

func (i Item) String() string {
	if i.Problem != "" {
		return i.Where + " " + i.Problem
	}
	return fmt.Sprintf("%s holds %q", i.Where, i.Needle)
}

// Leftovers lists where any of needles is still found (Find), as text.
func Leftovers(ctx context.Context, st *store.Store, queues *azqueue.ServiceClient, needles []string) ([]string, error) {
	items, err := Find(ctx, st, queues, needles)
	var out []string
	for _, i := range items {
		out = append(out, i.String())
	}
	return out, err
}

// Find lists each table entity, blob (by name or content) and queue
// message (poison queues included) that holds any of needles, outside
// what Kept names. queues may be nil when the caller's work is queued
// elsewhere. A queue that holds messages the scan cannot read (invisible
// ones, or more than a peek shows) is an item too.
func Find(ctx context.Context, st *store.Store, queues *azqueue.ServiceClient, needles []string) ([]Item, error) {
	var found []Item
	first := func(data []byte) string {
		for _, n := range needles {
			if bytes.Contains(data, []byte(n)) {
				return n
			}
		}
		return ""
	}
	var dump bytes.Buffer
	if _, _, err := st.ExportTables(ctx, &dump, time.Time{}); err != nil {
		return nil, err
	}
	sc := bufio.NewScanner(&dump)
	sc.Buffer(make([]byte, 4<<20), 4<<20)
	for sc.Scan() {
		var line struct {
			Table  string `json:"table"`
			Entity struct {
				PartitionKey, RowKey string
			} `json:"entity"`
		}
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			return nil, fmt.Errorf("table dump: %w", err)
		}
		if Kept["table "+line.Table] {
			continue
		}
		if n := first(sc.Bytes()); n != "" {
			found = append(found, Item{Where: "table " + line.Table, Table: line.Table, PartitionKey: line.Entity.PartitionKey, RowKey: line.Entity.RowKey, Needle: n})
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	err := st.ForEachBlob(ctx, func(container, name string, data []byte) error {
		if n := first(append([]byte(name+"\n"), data...)); n != "" {
			found = append(found, Item{Where: "blob " + container + "/" + name, Container: container, Blob: name, Needle: n})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if queues == nil {
		return found, nil
	}
	pager := queues.NewListQueuesPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, q := range page.Queues {
			name := *q.Name
			if Kept["queue "+strings.TrimSuffix(name, "-poison")] {
				continue
			}
			qc := queues.NewQueueClient(name)
			props, err := qc.GetProperties(ctx, nil)
			if err != nil {
				return nil, err
			}
			n := int32(peekMax)
			peeked, err := qc.PeekMessages(ctx, &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
			if err != nil {
				return nil, err
			}
			for _, m := range peeked.Messages {
				text := []byte(*m.MessageText)
				if raw, err := base64.StdEncoding.DecodeString(*m.MessageText); err == nil {
					text = raw
				}
				if n := first(text); n != "" {
					found = append(found, Item{Where: "queue " + name, Needle: n})
				}
			}
			if count := props.ApproximateMessagesCount; count != nil && int(*count) > len(peeked.Messages) {
				found = append(found, Item{Where: "queue " + name, Problem: fmt.Sprintf("holds %d messages, %d of them readable", *count, len(peeked.Messages))})
			}
		}
	}
	return found, nil
}
