package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/callpulse/callpulse/crmsync"
)

// crmOutboxPath is where the daemon keeps the CRM outbox (see app wiring).
func crmOutboxPath(dataDir string) string { return filepath.Join(dataDir, "crm", "outbox.db") }

// runDeadletter lists CRM requests that failed permanently, or puts one
// back into the outbox. It opens the outbox database directly, so the
// daemon must be stopped; a retried letter is pushed when it next runs.
func runDeadletter(ctx context.Context, args []string) error {
	fs, common := newFlagSet("deadletter")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: callpulse deadletter list|retry [--config FILE] [ID...]")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return fmt.Errorf("want a subcommand: list or retry")
	}
	sub := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	cfg, err := common.load()
	if err != nil {
		return err
	}
	store, err := crmsync.OpenDeadLetters(crmOutboxPath(cfg.DataDir))
	if err != nil {
		return err
	}
	defer store.Close()
	switch sub {
	case "list":
		if fs.NArg() != 0 {
			return fmt.Errorf("list takes no arguments")
		}
		letters, err := store.DeadLetters()
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "ID\tSTATUS\tATTEMPTS\tDIED AT\tREASON")
		for _, d := range letters {
			fmt.Fprintf(w, "%s\t%d\t%d\t%s\t%s\n", d.ID, d.Status, d.Attempts, d.DiedAt.UTC().Format(time.RFC3339), d.Reason)
		}
		return w.Flush()
	case "retry":
		if fs.NArg() == 0 {
			return fmt.Errorf("retry wants one or more dead letter IDs (see 'callpulse deadletter list')")
		}
		for _, id := range fs.Args() {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := store.Retry(id); err != nil {
				return err
			}
			fmt.Printf("requeued %s\n", id)
		}
		return nil
	}
	return fmt.Errorf("deadletter %q: want list or retry", sub)
}
