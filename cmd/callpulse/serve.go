package main

import (
	"context"
	"fmt"

	"github.com/callpulse/callpulse/app"
)

func runServe(ctx context.Context, args []string) error {
	fs, common := newFlagSet("serve")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := common.load()
	if err != nil {
		return err
	}
	a, err := app.Start(ctx, cfg, newLogger(cfg))
	if err != nil {
		return err
	}
	return a.Wait(ctx)
}

func runMigrate(ctx context.Context, args []string) error {
	fs, common := newFlagSet("migrate")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := common.load()
	if err != nil {
		return err
	}
	db, applied, err := openWarehouse(ctx, cfg.ClickHouse)
	if err != nil {
		return err
	}
	defer db.Close()
	fmt.Printf("database %s: applied %d migration(s) %v\n", db.Database(), len(applied), applied)
	return nil
}

func runCheckConfig(_ context.Context, args []string) error {
	fs, common := newFlagSet("check-config")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if common.configPath == "" && fs.NArg() == 1 {
		common.configPath = fs.Arg(0)
	}
	cfg, err := common.load()
	if err != nil {
		return err
	}
	if err := cfg.ValidateForServe(); err != nil {
		return err
	}
	fmt.Printf("%s: OK (%d managers, %d lines, time zone %s)\n", nameOr(common.configPath), len(cfg.Managers), len(cfg.Lines), cfg.Timezone)
	return nil
}

func nameOr(path string) string {
	if path == "" {
		return "(defaults and environment)"
	}
	return path
}
