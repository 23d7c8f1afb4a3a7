// Command restore writes the tables back from the backup timer's exports
// (see package backup), replacing the entities they hold. What belongs to a
// deleted account or campaign is never written back: the deletions
// recorded in the live tables and in the exports are honoured. Campaigns
// that were queued or sending are paused afterwards, and their rows in
// flight become unknown: rows sent after the recovery point show as
// pending again, and only the owner can tell (from Sent Items) whether to
// resume; nothing is sent twice automatically.
//
//	restore -at 2026-11-28T15:42:00Z   the last whole export before then, and the changes after it
//	restore -at latest                 everything up to the newest export (after losing the tables)
//	restore -backup backups-monthly/2026-10.jsonl.gz
//	restore -file export.jsonl.gz
//	    [-tables campaigns,recipients] [-partition <account key or campaign id>] [-dry-run]
//	restore -reapply-deletions 2026-11-28T15:42:00Z
//	    after a blob point-in-time restore to that time: deletions finished since run again
//
// It reads the exports from BackupStorage and writes into
// AzureWebJobsStorage, each a connection string, UseDevelopmentStorage=true,
// or the identity-based __accountName settings, as the handler does. After
// a regional failover, point both at the accounts in the secondary region.
package main

import (
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"
	"time"

	"mailmerge/handler/internal/apperr"
	"mailmerge/handler/internal/backup"
	"mailmerge/handler/internal/campaign"
	"mailmerge/handler/internal/config"
	"mailmerge/handler/internal/lifecycle"
	"mailmerge/handler/internal/store"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "restore:", err)
		os.Exit(1)
	}
}

// source is one export to read: a blob or a local file.
type source struct {
	name string
	open func(context.Context) (io.ReadCloser, error)
}

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	at := fs.String("at", "", "restore to this time (RFC 3339, UTC) or 'latest', from the whole and change exports")
	blob := fs.String("backup", "", "or one export, as <container>/<name>")
	file := fs.String("file", "", "or a local copy of an export")
	tables := fs.String("tables", "", "comma-separated tables to restore (default: all in the exports)")
	partition := fs.String("partition", "", "restore only partitions starting with this (e.g. an account key or a campaign id)")
	dry := fs.Bool("dry-run", false, "say what would be restored, and write nothing")
	reapply := fs.String("reapply-deletions", "", "run again the deletions finished since this time (RFC 3339), and nothing else")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	st, err := openStore(getenv, config.Storage, "the storage account to restore into")
	if err != nil {
		return err
	}
	if *reapply != "" {
		since, err := time.Parse(time.RFC3339, *reapply)
		if err != nil {
			return fmt.Errorf("-reapply-deletions %q: want the time blobs were restored to, such as 2026-11-28T15:42:00Z (RFC 3339)", *reapply)
		}
		// Requested long enough ago that the next retention run resumes them.
		n, again, err := st.ReapplyDeletions(ctx, since, time.Now().Add(-24*time.Hour))
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "%d deletions will run again at the next retention run (hourly; or run the retention function now)\n", n)
		if again > 0 {
			fmt.Fprintf(out, "%d deleted accounts exist again (their people signed in since) and were left alone: "+
				"blobs of their old campaigns that the blob restore brought back are under originals/<account key>/ with no campaign in the tables\n", again)
		}
		return nil
	}
	backups, err := openStore(getenv, config.BackupStorage, "the storage account that holds the exports")
	if err != nil {
		return err
	}
	sources, reached, err := plan(ctx, backups, *at, *blob, *file, out)
	if err != nil {
		return err
	}
	if *dry {
		return nil
	}
	erased, err := st.Erasures(ctx)
	if err != nil {
		return err
	}
	for _, s := range sources {
		if err := read(ctx, s, erased.Learn); err != nil {
			return err
		}
	}
	accounts, campaigns := erased.Count()
	fmt.Fprintf(out, "deletions honoured (their data is not written back): %d accounts, %d campaigns\n", accounts, campaigns)
	only := strings.FieldsFunc(*tables, func(r rune) bool { return r == ',' })
	keep := func(table, pk string) bool {
		return (len(only) == 0 || slices.Contains(only, table)) && strings.HasPrefix(pk, *partition)
	}
	var written, skipped int
	for _, s := range sources {
		err := read(ctx, s, func(r io.Reader) error {
			w, k, err := st.RestoreTables(ctx, r, keep, erased)
			written, skipped = written+w, skipped+k
			return err
		})
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "restored %s\n", s.name)
	}
	fmt.Fprintf(out, "restored %d entities; skipped %d deleted before the recovery point or of deleted accounts and campaigns\n", written, skipped)
	// A campaign whose state or rows were written back may send again.
	restored := func(c store.Campaign) bool {
		return keep(campaignsTable, c.Account.String()) || keep(recipientsTable, c.ID)
	}
	held, rows, err := hold(ctx, st, reached, restored)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "paused %d running campaigns for their owners to check; %d rows in flight now unknown\n", held, rows)
	return nil
}

// The tables that hold the campaigns' states and their rows' states.
const (
	campaignsTable  = "campaigns"
	recipientsTable = "recipients"
)

// hold pauses the restored campaigns that were queued or sending (those
// for which restored is true), telling the owner why, and records their rows
// in flight as unknown. A row sent after the recovery point reads pending
// in the restored tables; sending it again automatically would send it twice.
func hold(ctx context.Context, st *store.Store, reached time.Time, restored func(store.Campaign) bool) (campaigns, rows int, err error) {
	now := time.Now().UTC()
	running, err := st.CampaignsToSweep(ctx, now)
	if err != nil {
		return 0, 0, err
	}
	point := "the backup"
	if !reached.IsZero() {
		point = "the backup of " + reached.Format("2 January 2006 15:04 UTC")
	}
	text := "We restored this campaign from " + point + ". Messages sent after that time may show as pending and would be sent again: check your Sent Items, then resume or cancel."
	for _, c := range running {
		if (c.Status != campaign.Queued && c.Status != campaign.Sending) || !restored(c) {
			continue
		}
		inFlight, err := st.RecipientsInStatus(ctx, c.ID, campaign.RowSending, 1000)
		if err != nil {
			return campaigns, rows, err
		}
		for _, r := range inFlight {
			if _, err := st.SetRecipientStatus(ctx, c.ID, r, campaign.RowUnknown, campaign.Reason{Code: "restored",
				Text: "in flight when the backup was taken; it may have been sent"}, now); err != nil && !apperr.Is(err, apperr.Conflict) {
				return campaigns, rows, err
			}
			rows++
		}
		counts, err := st.RecipientCounts(ctx, c.ID)
		if err != nil {
			return campaigns, rows, err
		}
		_, err = st.ModifyCampaign(ctx, c.Account, c.ID, func(c *store.Campaign) error {
			c.Counts, c.CountedAt = campaign.CountsOf(counts), now
			return lifecycle.Move(c, campaign.Paused, campaign.Reason{Code: "restored_from_backup", Text: text}, now)
		})
		if err != nil {
			return campaigns, rows, fmt.Errorf("pause campaign %s: %w", c.ID, err)
		}
		campaigns++
	}
	return campaigns, rows, nil
}

func openStore(getenv func(string) string, name, what string) (*store.Store, error) {
	conn := config.ReadConnection(getenv, name)
	if conn.IsZero() {
		return nil, fmt.Errorf("%s is not set: %s", name, what)
	}
	return store.Open(conn)
}

// plan lists the exports to restore, oldest first, and says so, with
// the recovery point they reach (zero for a single export).
func plan(ctx context.Context, backups *store.Store, at, blob, file string, out io.Writer) ([]source, time.Time, error) {
	given := 0
	for _, s := range []string{at, blob, file} {
		if s != "" {
			given++
		}
	}
	if given != 1 {
		return nil, time.Time{}, fmt.Errorf("give one of -at <time|latest>, -backup <container>/<name> or -file <path>")
	}
	fromBlob := func(container, name string) source {
		return source{name: container + "/" + name, open: func(ctx context.Context) (io.ReadCloser, error) {
			return backups.OpenBlob(ctx, container, name)
		}}
	}
	switch {
	case file != "":
		fmt.Fprintf(out, "plan: %s\n", file)
		return []source{{name: file, open: func(context.Context) (io.ReadCloser, error) { return os.Open(file) }}}, time.Time{}, nil
	case blob != "":
		container, name, ok := strings.Cut(blob, "/")
		if !ok || name == "" {
			return nil, time.Time{}, fmt.Errorf("-backup %q: want <container>/<name>, e.g. %s/%s", blob, backup.MonthlyContainer, backup.MonthlyName(time.Now()))
		}
		fmt.Fprintf(out, "plan: %s\n", blob)
		return []source{fromBlob(container, name)}, time.Time{}, nil
	}
	point := time.Now().UTC()
	if at != "latest" {
		t, err := time.Parse(time.RFC3339, at)
		if err != nil {
			return nil, time.Time{}, fmt.Errorf("-at %q: want a time such as 2026-11-28T15:42:00Z (RFC 3339), or latest", at)
		}
		point = t
	}
	var exports []backup.Export
	for _, kind := range []string{backup.Full, backup.Changes} {
		names, err := backups.ListBlobs(ctx, backup.Container, kind)
		if err != nil {
			return nil, time.Time{}, err
		}
		for _, n := range names {
			if e, err := backup.Parse(n); err == nil {
				exports = append(exports, e)
			}
		}
	}
	chosen, reached, err := backup.Plan(exports, point)
	if err != nil {
		return nil, time.Time{}, err
	}
	fmt.Fprintf(out, "plan: %d exports; recovery point %s\n", len(chosen), reached.Format(time.RFC3339))
	var sources []source
	for _, e := range chosen {
		fmt.Fprintf(out, "  %s/%s\n", backup.Container, e.Name)
		sources = append(sources, fromBlob(backup.Container, e.Name))
	}
	return sources, reached, nil
}

// read opens a gzip export and hands its content to fn.
func read(ctx context.Context, s source, fn func(io.Reader) error) error {
	rc, err := s.open(ctx)
	if err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	defer rc.Close()
	zr, err := gzip.NewReader(rc)
	if err != nil {
		return fmt.Errorf("%s: not a gzip export: %w", s.name, err)
	}
	if err := fn(zr); err != nil {
		return fmt.Errorf("%s: %w", s.name, err)
	}
	return nil
}
