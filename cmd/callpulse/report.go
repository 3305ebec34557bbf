package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/callpulse/callpulse/app"
	"github.com/callpulse/callpulse/report"
)

// runReport builds the e-mail report of one day on demand and sends it,
// once per recipient (the same ledger as the nightly run), or with
// --dry-run writes its files instead.
func runReport(ctx context.Context, args []string) error {
	fs, common := newFlagSet("report")
	date := fs.String("date", "", "the `YYYY-MM-DD` day to report, in the configured time zone (default: yesterday)")
	var to addrList
	fs.Var(&to, "to", "send to `ADDR` instead of the configured recipients (repeatable; a configured address keeps its scope)")
	dryRun := fs.Bool("dry-run", false, "write .eml, .html, .txt, .png and .csv files into --out instead of sending")
	out := fs.String("out", "", "directory for --dry-run files (one subdirectory per recipient)")
	force := fs.Bool("force", false, "send even if the report was already sent to a recipient")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: callpulse report [--config FILE] [--date YYYY-MM-DD] [--to ADDR] [--force] [--dry-run --out DIR]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *dryRun != (*out != "") {
		return errors.New("--dry-run and --out go together")
	}
	if *dryRun && *force {
		return errors.New("--force has no effect with --dry-run")
	}
	cfg, err := common.load()
	if err != nil {
		return err
	}
	loc := cfg.Location()
	day := time.Now().In(loc).AddDate(0, 0, -1)
	if *date != "" {
		if day, err = time.ParseInLocation(time.DateOnly, *date, loc); err != nil {
			return fmt.Errorf("--date %q: want YYYY-MM-DD", *date)
		}
	}
	db, _, err := openWarehouse(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer db.Close()
	svc, err := app.NewReportService(cfg, db, nil, newLogger(cfg), !*dryRun)
	if err != nil {
		return err
	}
	results, err := svc.Run(ctx, day, report.RunOptions{To: to, Force: *force, DryRunDir: *out})
	for _, r := range results {
		switch {
		case r.Err != nil:
			fmt.Printf("%s: %s\n", r.Recipient, r.Result)
		case r.Reason != "":
			fmt.Printf("%s: %s (%s)\n", r.Recipient, r.Result, r.Reason)
		default:
			fmt.Printf("%s: %s %s\n", r.Recipient, r.Result, strings.Join(r.Files, " "))
		}
	}
	return err
}

// addrList collects repeated --to flags (commas also separate).
type addrList []string

func (a *addrList) String() string { return strings.Join(*a, ",") }

func (a *addrList) Set(v string) error {
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			*a = append(*a, s)
		}
	}
	return nil
}
