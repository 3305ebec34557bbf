package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/callpulse/callpulse/importer"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/warehouse"
)

func runImport(ctx context.Context, args []string) error {
	fs, common := newFlagSet("import")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: callpulse import clients [--config FILE] FILE.csv")
		fs.PrintDefaults()
	}
	if len(args) == 0 {
		fs.Usage()
		return fmt.Errorf("want a kind: clients")
	}
	kind := args[0]
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	path, err := oneArg(fs, "CSV file")
	if err != nil {
		return err
	}
	if kind != "clients" {
		return fmt.Errorf("import %q: only clients can be imported in this version", kind)
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
	clients, err := importer.ReadClients(f, norm)
	if err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	db, _, err := openWarehouse(ctx, cfg.ClickHouse.DSN, cfg.ClickHouse.DialTimeout, cfg.ClickHouse.QueryTimeout)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.UpsertClients(ctx, clients, "csv", time.Now()); err != nil {
		return err
	}
	fmt.Printf("%s: imported %d clients\n", path, len(clients))
	return nil
}

// openWarehouse opens ClickHouse and applies migrations (which creates the
// database on first use), so every command finds the schema it needs.
func openWarehouse(ctx context.Context, dsn string, dial, query time.Duration) (*warehouse.DB, []uint32, error) {
	db, err := warehouse.Open(dsn, warehouse.Options{DialTimeout: dial, QueryTimeout: query})
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
