// Command restore writes the tables back from an export of the backup
// timer (backups/daily/<date>/<hour>.jsonl.gz or backups/monthly/...),
// replacing the entities it holds. It reads the storage connection from
// AzureWebJobsStorage (a connection string, UseDevelopmentStorage=true, or
// the identity-based __accountName settings), as the handler does.
//
//	restore -backup daily/2026-11-28/15.jsonl.gz [-tables campaigns,recipients] [-partition <prefix>]
//	restore -file export.jsonl.gz ...
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strings"

	"mailmerge/handler/internal/config"
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

func run(ctx context.Context, args []string, getenv func(string) string, out io.Writer) error {
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	blob := fs.String("backup", "", "the export's name in the backups container")
	file := fs.String("file", "", "or a local copy of an export")
	tables := fs.String("tables", "", "comma-separated tables to restore (default: all in the export)")
	partition := fs.String("partition", "", "restore only partitions starting with this (e.g. an account key or a campaign id)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	if (*blob == "") == (*file == "") {
		return fmt.Errorf("give -backup <name> or -file <path>")
	}
	conn := config.ReadConnection(getenv, config.Storage)
	if conn.IsZero() {
		return fmt.Errorf("%s is not set: the storage account to restore into", config.Storage)
	}
	st, err := store.Open(conn)
	if err != nil {
		return err
	}
	var raw []byte
	if *blob != "" {
		raw, err = st.GetBlob(ctx, "backups", *blob)
	} else {
		raw, err = os.ReadFile(*file)
	}
	if err != nil {
		return err
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return fmt.Errorf("not a gzip export: %w", err)
	}
	only := strings.FieldsFunc(*tables, func(r rune) bool { return r == ',' })
	n, err := st.RestoreTables(ctx, zr, func(table, pk string) bool {
		return (len(only) == 0 || slices.Contains(only, table)) && strings.HasPrefix(pk, *partition)
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "restored %d entities\n", n)
	return nil
}
