package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/importer"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/warehouse"
)

func runImport(ctx context.Context, args []string) error {
	fs, common := newFlagSet("import")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: callpulse import clients|deals [--config FILE] FILE.csv")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return fmt.Errorf("want a kind: clients or deals")
	}
	kind := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	path, err := oneArg(fs, "CSV file")
	if err != nil {
		return err
	}
	if kind != "clients" && kind != "deals" {
		return fmt.Errorf("import %q: want clients or deals", kind)
	}
	cfg, err := common.load()
	if err != nil {
		return err
	}
	norm, err := phone.NewNormalizer(cfg.DefaultRegion)
	if err != nil {
		return err
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	upsert, n, err := readImport(kind, f, norm, cfg.Location())
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	db, _, err := openWarehouse(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := upsert(ctx, db, time.Now()); err != nil {
		return err
	}
	fmt.Printf("%s: imported %d %s\n", path, n, kind)
	return nil
}

// readImport reads and checks a whole file of one kind (clients or deals)
// before anything touches ClickHouse, and returns how to store it and how
// many rows it holds.
func readImport(kind string, in io.Reader, norm importer.Normalizer, loc *time.Location) (
	upsert func(context.Context, *warehouse.DB, time.Time) error, rows int, err error) {
	switch kind {
	case "clients":
		clients, err := importer.ReadClients(in, norm)
		return func(ctx context.Context, db *warehouse.DB, at time.Time) error {
			return db.UpsertClients(ctx, clients, "csv", at)
		}, len(clients), err
	case "deals":
		deals, err := importer.ReadDeals(in, norm, loc)
		return func(ctx context.Context, db *warehouse.DB, at time.Time) error {
			return db.UpsertDeals(ctx, deals, "csv", at)
		}, len(deals), err
	}
	return nil, 0, fmt.Errorf("import %q: want clients or deals", kind)
}

// openWarehouse opens ClickHouse and applies migrations (which creates the
// database on first use), so every command finds the schema it needs.
func openWarehouse(ctx context.Context, c config.ClickHouseConfig) (*warehouse.DB, []uint32, error) {
	db, err := warehouse.Open(c.DSN, warehouse.Options{DialTimeout: c.DialTimeout, QueryTimeout: c.QueryTimeout, Cluster: c.Cluster})
	if err != nil {
		return nil, nil, err
	}
	applied, err := db.Migrate(ctx)
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, applied, nil
}
