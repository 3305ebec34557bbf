package app

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/report"
	"github.com/callpulse/callpulse/scoring"
	"github.com/callpulse/callpulse/warehouse"
)

// NewReportService builds the report service from the configuration. With
// send, SMTP must be configured. reg may be nil (metrics not exported).
// The daemon builds the same service (with its registry) for the nightly
// scheduler.
func NewReportService(cfg *config.Config, db *warehouse.DB, reg prometheus.Registerer, log *slog.Logger, send bool) (*report.Service, error) {
	scorer, err := newScorer(cfg, db)
	if err != nil {
		return nil, err
	}
	return newReportService(cfg, db, analytics.NewStore(db.Conn(), cfg.Location()), scorer, reg, log, send)
}

// newReportService is NewReportService over store and scorer (the
// daemon's own: a second scorer would keep a second copy of the touches).
func newReportService(cfg *config.Config, db *warehouse.DB, store *analytics.Store, scorer *scoring.Scorer,
	reg prometheus.Registerer, log *slog.Logger, send bool) (*report.Service, error) {
	rc := cfg.Report
	var managers []analytics.Manager
	for _, m := range cfg.Managers {
		managers = append(managers, analytics.Manager{ID: m.ID, Name: m.Name, Extensions: m.Extensions})
	}
	team := analytics.NewTeam(managers)
	builder, err := report.NewBuilder(report.BuildOptions{
		Talk: store, Funnel: store, Missed: report.AnalyticsMissed{Store: store, Team: team},
		Queue:          report.ScoringQueue{Scorer: scorer, Team: team},
		SLA:            cfg.Analytics.CallbackSLA,
		Team:           team,
		Targets:        analytics.Targets{"A": cfg.Targets.A, "B": cfg.Targets.B, "C": cfg.Targets.C},
		Location:       cfg.Location(),
		WeeklyOnMonday: rc.WeeklyOnMonday,
	})
	if err != nil {
		return nil, err
	}
	var recipients []report.Recipient
	for _, r := range rc.Recipients {
		recipients = append(recipients, report.Recipient{Email: r.Email, Manager: r.Manager})
	}
	metrics := report.NewMetrics(reg)
	opts := report.Options{
		Builder: builder, Language: rc.Language, From: rc.From, Recipients: recipients,
		Metrics: metrics, Logger: log.With("component", "report"),
	}
	if send {
		opts.Sender, err = report.NewSender(report.SMTPOptions{
			Host: rc.SMTP.Host, Port: rc.SMTP.Port, TLS: rc.SMTP.TLS,
			User: rc.SMTP.User, Password: string(rc.SMTP.Password),
		}, metrics, log.With("component", "report"))
		if err != nil {
			return nil, err
		}
		host, _ := os.Hostname()
		opts.Ledger, opts.Claim = db, report.ClaimOptions{Replica: host}
	}
	return report.New(opts)
}

// newScorer builds the lead scorer from the configuration.
func newScorer(cfg *config.Config, db *warehouse.DB) (*scoring.Scorer, error) {
	sc := cfg.Scoring
	s, err := scoring.New(db.Conn(), scoring.Options{
		Points: sc.Points, OncePerAction: sc.OncePerAction, Decay: sc.Decay,
		Lookback: sc.Lookback, MinSample: sc.MinSample, FallbackThreshold: sc.FallbackThreshold,
		KeepTouches: sc.KeepTouches,
	})
	if err != nil {
		return nil, fmt.Errorf("scoring: %w", err)
	}
	return s, nil
}

// startReports runs the nightly report scheduler when recipients are
// configured. It is called after migrations: the sent markers live in
// ClickHouse.
func (a *App) startReports(ctx context.Context) error {
	if !a.cfg.Report.Enabled() {
		return nil
	}
	svc, err := newReportService(a.cfg, a.db, a.store, a.scorer, a.reg, a.log, true)
	if err != nil {
		return err
	}
	sched, err := report.ParseSchedule(a.cfg.Report.Schedule)
	if err != nil {
		return err
	}
	s, err := report.NewScheduler(svc, report.SchedulerOptions{
		Schedule: sched, Location: a.cfg.Report.Location(), Logger: a.log.With("component", "report"),
	})
	if err != nil {
		return err
	}
	a.workers.Go(func() error { return s.Run(ctx) })
	return nil
}
