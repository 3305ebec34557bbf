package scoring

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// ThresholdSource says where a threshold came from.
type ThresholdSource string

// Threshold sources.
const (
	// Calibrated: the average score of the leads that converted in the
	// look-back window, of which there were at least MinSample.
	Calibrated ThresholdSource = "calibrated"
	// Fallback: too few leads converted; the configured fallback applies.
	Fallback ThresholdSource = "fallback"
)

// Threshold is the score from which a lead counts as ready to buy.
type Threshold struct {
	Value  float64
	Source ThresholdSource
	// Sample is the number of leads that converted in the look-back window
	// and had a touch at or before their conversion, whether or not they
	// were enough to calibrate.
	Sample int
}

// Threshold computes the threshold now: the average score, as of their
// conversion, of the leads that converted in (now − Lookback, now] (see the
// package comment), or FallbackThreshold if fewer than MinSample did. It is
// recomputed on every call, so a newly won deal recalibrates it at once.
func (s *Scorer) Threshold(ctx context.Context) (Threshold, error) {
	now := s.now().UTC().Truncate(time.Second)
	var th Threshold
	kept, err := s.useBook(ctx, func(bs *bookScorer) { th = s.bookThreshold(bs, now) })
	if err != nil || kept {
		return th, err
	}
	return s.threshold(ctx, s.fast.threshold)
}

// bookThreshold is the threshold as of now from a book.
func (s *Scorer) bookThreshold(bs *bookScorer, now time.Time) Threshold {
	leads, total := bs.threshold(now.Add(-s.opts.Lookback).Unix(), now.Unix())
	return s.calibrate(uint64(leads), total)
}

// useBook brings the book up to date and runs fn on it; kept is false,
// and fn not run, when the scorer has no book or the tables cannot have
// one (replicated): then the caller computes in SQL.
func (s *Scorer) useBook(ctx context.Context, fn func(bs *bookScorer)) (kept bool, err error) {
	if s.book == nil {
		return false, nil
	}
	return s.book.use(ctx, s.conn, func() { fn(s.bookScorer(s.book)) })
}

// ThresholdRaw is Threshold computed the straightforward way: the
// reference the one-pass form is tested against.
func (s *Scorer) ThresholdRaw(ctx context.Context) (Threshold, error) {
	return s.threshold(ctx, thresholdRawSQL)
}

func (s *Scorer) threshold(ctx context.Context, q string) (Threshold, error) {
	now := s.now().UTC().Truncate(time.Second)
	var leads uint64
	var total int64
	err := s.conn.QueryRow(ctx, q, s.params(
		clickhouse.Named("from", now.Add(-s.opts.Lookback)),
		clickhouse.Named("now", now),
	)...).Scan(&leads, &total)
	if err != nil {
		return Threshold{}, fmt.Errorf("query score threshold: %w", err)
	}
	return s.calibrate(leads, total), nil
}

// calibrate is the threshold from the number of leads that converted
// and the sum of their scores at conversion.
func (s *Scorer) calibrate(leads uint64, total int64) Threshold {
	th := Threshold{Value: s.opts.FallbackThreshold, Source: Fallback, Sample: int(leads)}
	if leads >= uint64(s.opts.MinSample) { // MinSample ≥ 1: never divides by 0
		th.Value, th.Source = float64(total)/float64(leads), Calibrated
	}
	return th
}

// params are the named parameters every scoring query takes (the points
// table, OncePerAction, the decay window) followed by extra.
func (s *Scorer) params(extra ...any) []any {
	return append([]any{
		clickhouse.Named("actions", s.actions),
		clickhouse.Named("points", s.points),
		clickhouse.Named("once", boolInt(s.opts.OncePerAction)),
		clickhouse.Named("decay", s.decaySeconds()),
	}, extra...)
}
