// Package loadgen drives an HTTP endpoint with POST requests and measures
// what it achieves: requests per second, latency percentiles and errors.
//
// Two modes:
//
//   - Fixed (open loop): requests are scheduled at a fixed rate whatever the
//     server does, and handed to a pool of workers. Latency is measured from
//     the request's intended send time, so time spent queued behind a slow
//     server counts (no coordinated omission).
//   - Saturate (closed loop): N workers, one keep-alive connection each, send
//     back to back for a fixed duration. Latency is measured from the send.
//
// Every run is bounded in requests and time and stops by itself.
package loadgen

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Target is what a run sends: POST URL with Header and the body Body(dst, i)
// appends to dst for the i-th request (i counts from 0 within the Target).
type Target struct {
	URL    string
	Header http.Header
	Body   func(dst []byte, i uint64) []byte
	// Done, if set, is told the outcome of the i-th request: its response
	// (body read and closed; status and header still valid) or the error
	// that left it without one. Workers call it concurrently.
	Done func(i uint64, resp *http.Response, err error)

	next atomic.Uint64
}

// Result is the outcome of one run.
type Result struct {
	Elapsed   time.Duration // from the first scheduled send to the last response
	Sent      int64         // requests started
	OK        int64         // 2xx responses
	Non2xx    int64         // other responses
	Failed    int64         // transport errors (no response)
	Unsent    int64         // open loop: scheduled but never started (server too slow to drain)
	FirstErr  string        // the first non-2xx status or transport error, for the report
	Latencies []time.Duration
}

// Errors is every request that did not get a 2xx, sent or not.
func (r *Result) Errors() int64 { return r.Non2xx + r.Failed + r.Unsent }

// Rate is 2xx responses per second of Elapsed.
func (r *Result) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Percentile returns the nearest-rank p-th percentile (0 < p <= 100) of the
// latencies, which must be sorted; 0 when there are none.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Quantile is Percentile of r's latencies.
func (r *Result) Quantile(p float64) time.Duration { return Percentile(r.Latencies, p) }

// Max is the largest latency.
func (r *Result) Max() time.Duration { return Percentile(r.Latencies, 100) }

// Options bound a run.
type Options struct {
	Duration time.Duration // how long requests are started
	Rate     float64       // Fixed: requests per second
	Workers  int           // Fixed: concurrent requests at most; Saturate: connections
	Drain    time.Duration // Fixed: how long queued requests may still start after Duration (default 5s)
	Timeout  time.Duration // per request (default 10s)
}

// Fixed sends requests at opts.Rate for opts.Duration (open loop).
func Fixed(ctx context.Context, t *Target, opts Options) *Result {
	if opts.Rate <= 0 {
		return &Result{}
	}
	n := int64(opts.Rate * opts.Duration.Seconds())
	period := time.Duration(float64(time.Second) / opts.Rate)
	due := make(chan int64, min(n, 1<<16))
	start := time.Now()
	stopStarting := start.Add(opts.Duration + withDefault(opts.Drain, 5*time.Second))
	go func() { // the scheduler: releases request k once its time has come
		defer close(due)
		tick := time.NewTicker(time.Millisecond)
		defer tick.Stop()
		for k := int64(0); k < n; {
			for limit := min(n, int64(time.Since(start)/period)+1); k < limit; k++ {
				select {
				case due <- k:
				case <-ctx.Done():
					return
				}
			}
			select {
			case <-tick.C:
			case <-ctx.Done():
				return
			}
		}
	}()
	return run(ctx, t, opts, start, func(w *worker) {
		for k := range due {
			if time.Now().After(stopStarting) || ctx.Err() != nil {
				w.res.Unsent++
				continue
			}
			w.send(start.Add(time.Duration(k) * period))
		}
	})
}

// Saturate sends back to back on opts.Workers connections for opts.Duration
// (closed loop).
func Saturate(ctx context.Context, t *Target, opts Options) *Result {
	start := time.Now()
	deadline := start.Add(opts.Duration)
	return run(ctx, t, opts, start, func(w *worker) {
		for time.Now().Before(deadline) && ctx.Err() == nil {
			w.send(time.Now())
		}
	})
}

type worker struct {
	t      *Target
	hdr    http.Header // the worker's own copy of t.Header
	client *http.Client
	buf    []byte
	res    Result
}

// send posts one request and records its latency from intended.
func (w *worker) send(intended time.Time) {
	w.res.Sent++
	i := w.t.next.Add(1) - 1
	w.buf = w.t.Body(w.buf[:0], i)
	req, err := http.NewRequest(http.MethodPost, w.t.URL, bytes.NewReader(w.buf))
	if err != nil {
		w.fail(i, err)
		return
	}
	req.Header = w.hdr
	resp, err := w.client.Do(req)
	if err != nil {
		w.fail(i, err)
		return
	}
	_, _ = io.Copy(io.Discard, resp.Body) // read to the end to reuse the connection
	resp.Body.Close()
	if w.t.Done != nil {
		w.t.Done(i, resp, nil)
	}
	w.res.Latencies = append(w.res.Latencies, time.Since(intended))
	if resp.StatusCode/100 == 2 {
		w.res.OK++
		return
	}
	w.res.Non2xx++
	if w.res.FirstErr == "" {
		w.res.FirstErr = resp.Status
	}
}

func (w *worker) fail(i uint64, err error) {
	w.res.Failed++
	if w.res.FirstErr == "" {
		w.res.FirstErr = err.Error()
	}
	if w.t.Done != nil {
		w.t.Done(i, nil, err)
	}
}

// run starts opts.Workers workers, each with loop, and merges their results.
func run(ctx context.Context, t *Target, opts Options, start time.Time, loop func(*worker)) *Result {
	tr := &http.Transport{
		MaxIdleConns:        opts.Workers,
		MaxIdleConnsPerHost: opts.Workers,
		MaxConnsPerHost:     opts.Workers,
		DisableCompression:  true,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: withDefault(opts.Timeout, 10*time.Second)}
	workers := make([]*worker, opts.Workers)
	var wg sync.WaitGroup
	for i := range workers {
		w := &worker{t: t, hdr: t.Header.Clone(), client: client, res: Result{Latencies: make([]time.Duration, 0, 1024)}}
		workers[i] = w
		wg.Go(func() { loop(w) })
	}
	wg.Wait()
	res := &Result{Elapsed: time.Since(start)}
	for _, w := range workers {
		res.Sent += w.res.Sent
		res.OK += w.res.OK
		res.Non2xx += w.res.Non2xx
		res.Failed += w.res.Failed
		res.Unsent += w.res.Unsent
		if res.FirstErr == "" {
			res.FirstErr = w.res.FirstErr
		}
		res.Latencies = append(res.Latencies, w.res.Latencies...)
	}
	slices.Sort(res.Latencies)
	return res
}

func withDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// String is a one-line summary of r.
func (r *Result) String() string {
	return fmt.Sprintf("%.0f/s ok=%d p50=%v p99=%v max=%v errors=%d", r.Rate(), r.OK,
		r.Quantile(50), r.Quantile(99), r.Max(), r.Errors())
}
