package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/importer"
	"github.com/callpulse/callpulse/phone"
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
	writeDeals := fs.String("write-deals", "", "write the clients' deals, created today, as a CSV to `FILE` and exit (import it with 'callpulse import deals')")
	dealsFile := fs.String("deals", "", "the deals CSV that --write-deals wrote and was imported: the touches follow those deals (default: the deals --write-deals would write now)")
	touches := fs.Bool("touches", true, "post the clients' site and CRM touches of today to /api/v1/touches before the calls (needs the API token)")
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
	now := time.Now().In(cfg.Location())
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, now.Location())

	if *writeClients != "" || *writeDeals != "" {
		if *writeClients != "" {
			if err := writeFile(*writeClients, func(w io.Writer) error { return simulate.WriteClientsCSV(w, clients) }); err != nil {
				return err
			}
			fmt.Printf("wrote %d clients to %s\n", len(clients), *writeClients)
		}
		if *writeDeals != "" {
			deals := simulate.Deals(*seed, clients, today, now)
			if err := writeFile(*writeDeals, func(w io.Writer) error { return simulate.WriteDealsCSV(w, deals) }); err != nil {
				return err
			}
			fmt.Printf("wrote %d deals to %s\n", len(deals), *writeDeals)
		}
		return nil
	}

	token := string(cfg.Webhooks.Generic.Token)
	if token == "" {
		return errors.New("no generic webhook token: set CALLPULSE_GENERIC_TOKEN or webhooks.generic.token")
	}
	if *url == "" {
		*url = "http://" + cfg.Listen
	}
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
	opts := simulate.Options{
		URL: *url, Token: token, Seed: *seed, Managers: managers, Lines: lines, Clients: clients,
		Rate: *rate, Backfill: back, Calls: *calls, Location: cfg.Location(), Logger: cfgLog,
		RecordingBaseURL: recBase,
	}
	if *touches {
		if opts.APIToken = string(cfg.API.Token); opts.APIToken == "" {
			return errors.New("no API token to post touches with: set CALLPULSE_API_TOKEN or api.token, or pass --touches=false")
		}
		var deals []simulate.Deal
		if *dealsFile == "" {
			deals = simulate.Deals(*seed, clients, today, now)
		} else if deals, err = readDeals(*dealsFile, cfg); err != nil {
			return err
		}
		opts.Touches = simulate.Touches(*seed, clients, deals, today, now)
	}
	stats, err := simulate.Run(ctx, opts)
	fmt.Printf("simulated %+v\n", stats)
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// readDeals reads a deals CSV as `callpulse import deals` does.
func readDeals(path string, cfg *config.Config) ([]simulate.Deal, error) {
	norm, err := phone.NewNormalizer(cfg.DefaultRegion)
	if err != nil {
		return nil, err
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	imported, err := importer.ReadDeals(f, norm, cfg.Location())
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	deals := make([]simulate.Deal, len(imported))
	for i, d := range imported {
		deals[i] = simulate.Deal{ID: d.ID, Phone: d.Phone, Stage: string(d.Stage), Amount: int64(d.Amount) / 100,
			LossReason: d.LossReason, CreatedAt: d.CreatedAt, ClosedAt: d.ClosedAt, Source: d.Source, Manager: d.Manager}
	}
	return deals, nil
}
