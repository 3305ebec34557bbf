package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/callpulse/callpulse/simulate"
)

func runSimulate(ctx context.Context, args []string) error {
	fs, common := newFlagSet("simulate")
	url := fs.String("url", "", "callpulse base `URL` (default: http:// + the config's listen address)")
	seed := fs.Int64("seed", 1, "random seed; the same seed gives the same clients")
	nClients := fs.Int("clients", 300, "number of known clients")
	rate := fs.Float64("rate", 0.5, "calls per second after the backfill")
	calls := fs.Int("calls", 0, "stop after this many calls (0 = until interrupted)")
	backfill := fs.String("backfill", "today", `replay past traffic first: "today" (since midnight), a duration such as 2h, or 0`)
	serveRecordings := fs.Bool("serve-recordings", true, "serve the simulated calls' recordings on a loopback port, as a PBX would")
	writeClients := fs.String("write-clients", "", "write the clients CSV to `FILE` and exit (import it with 'callpulse import clients')")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg, err := common.load()
	if err != nil {
		return err
	}
	var managers, lines []string
	for _, m := range cfg.Managers {
		managers = append(managers, m.Extensions...)
	}
	for _, l := range cfg.Lines {
		lines = append(lines, l.Phone)
	}
	if len(managers) == 0 {
		return errors.New("the config has no managers: the simulation needs their extensions")
	}
	clients := simulate.Clients(*seed, *nClients, managers)

	if *writeClients != "" {
		f, err := os.Create(*writeClients)
		if err != nil {
			return err
		}
		if err := simulate.WriteClientsCSV(f, clients); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		fmt.Printf("wrote %d clients to %s\n", len(clients), *writeClients)
		return nil
	}

	token := string(cfg.Webhooks.Generic.Token)
	if token == "" {
		return errors.New("no generic webhook token: set CALLPULSE_GENERIC_TOKEN or webhooks.generic.token")
	}
	if *url == "" {
		*url = "http://" + cfg.Listen
	}
	now := time.Now().In(cfg.Location())
	var back time.Duration
	switch *backfill {
	case "today":
		back = now.Sub(time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location()))
	default:
		if back, err = time.ParseDuration(*backfill); err != nil {
			return fmt.Errorf("--backfill: %w", err)
		}
	}
	cfgLog := newLogger(cfg)
	recBase := ""
	if *serveRecordings {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return fmt.Errorf("serve recordings: %w", err)
		}
		srv := &http.Server{Handler: simulate.RecordingServer(), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		recBase = "http://" + ln.Addr().String()
		cfgLog.Info("serving simulated recordings", "url", recBase)
	}
	stats, err := simulate.Run(ctx, simulate.Options{
		URL: *url, Token: token, Seed: *seed, Managers: managers, Lines: lines, Clients: clients,
		Rate: *rate, Backfill: back, Calls: *calls, Location: cfg.Location(), Logger: cfgLog,
		RecordingBaseURL: recBase,
	})
	fmt.Printf("simulated %+v\n", stats)
	if ctx.Err() != nil {
		return nil
	}
	return err
}
