package spool

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/callpulse/callpulse/backoff"
)

// Sink receives batches of records from Consume.
//
// Write must handle the whole batch or return an error; it may be called
// again with the same batch (after an error, or after a restart if the cursor
// commit was lost), so it must be idempotent per record Seq. An error may
// carry a RetryAfter() time.Duration method to slow retries down.
//
// Every error is retried for now. A later "permanently bad records" error
// would be recognised in deliver, where the retry decision is made.
type Sink interface {
	Write(ctx context.Context, recs []Record) error
}

// ConsumeOptions configures Consume. Zero fields take defaults.
type ConsumeOptions struct {
	MaxBatch     int            // flush when this many records are in hand (default 1000)
	MaxAge       time.Duration  // flush when the oldest record in hand is this old (default 1s)
	FlushTimeout time.Duration  // bound on the final write after ctx is cancelled (default 10s)
	Backoff      backoff.Policy // delays between retries of a failed batch
	Logger       *slog.Logger   // nil = discard

	// After returns a channel that receives once d has elapsed; it times
	// MaxAge and retry delays. Nil means time.After. Tests inject a fake
	// clock so they never sleep.
	After func(d time.Duration) <-chan time.Time
}

func (o ConsumeOptions) withDefaults() ConsumeOptions {
	if o.MaxBatch <= 0 {
		o.MaxBatch = 1000
	}
	if o.MaxAge <= 0 {
		o.MaxAge = time.Second
	}
	if o.FlushTimeout <= 0 {
		o.FlushTimeout = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.After == nil {
		o.After = time.After
	}
	return o
}

// Consume runs one consumer until ctx is done. Lifecycle:
//
//  1. Read durable records after r's position and collect them into a batch.
//     The batch is flushed when it holds opts.MaxBatch records or when its
//     first record has been in hand for opts.MaxAge, whichever comes first.
//  2. Flushing hands the batch to sink.Write. Only after Write returns nil is
//     the cursor committed to the batch's last seq; then the next batch starts.
//  3. If Write fails, the error is logged and counted and the same batch (no
//     record skipped, dropped or added) is retried after a jittered, capped
//     exponential backoff, or the error's RetryAfter if that is longer, until
//     Write succeeds or ctx is done. The backoff resets after a success.
//  4. When ctx is done, the batch in hand (if any) is written once more with a
//     context that is not cancelled but bounded by opts.FlushTimeout, and
//     committed if that succeeds; otherwise it is redelivered after restart.
//     Consume then returns nil.
//
// A failed cursor commit is logged and counted but does not stop the loop:
// the next commit covers it, and a lost commit means redelivery, never loss.
// Delivery is therefore at least once. Consume returns an error only if
// reading the spool fails (it is closed, or a record is corrupt); cancel
// consumers before closing the spool. Consume does not close r.
func Consume(ctx context.Context, r *Reader, sink Sink, opts ConsumeOptions) error {
	opts = opts.withDefaults()
	bo := backoff.New(opts.Backoff)
	bo.After = opts.After
	c := &consumeLoop{
		r:       r,
		sink:    sink,
		opts:    opts,
		bo:      bo,
		log:     opts.Logger.With(slog.String("consumer", r.Name())),
		metrics: r.s.metrics,
	}
	return c.run(ctx)
}

type consumeLoop struct {
	r       *Reader
	sink    Sink
	opts    ConsumeOptions
	bo      *backoff.Backoff
	log     *slog.Logger
	metrics *Metrics
}

func (c *consumeLoop) run(ctx context.Context) error {
	var (
		batch []Record
		aged  <-chan time.Time // fires MaxAge after the first record of a partial batch arrived
	)
	for {
		if ctx.Err() != nil { // also when records keep coming
			c.flushFinal(ctx, batch)
			return nil
		}
		changed := c.r.s.changedChan() // before polling, so no wake-up is lost
		recs, err := c.r.poll(c.opts.MaxBatch - len(batch))
		if err != nil {
			return fmt.Errorf("consume %q: %w", c.r.Name(), err)
		}
		batch = append(batch, recs...)

		if len(batch) < c.opts.MaxBatch {
			if len(batch) > 0 && aged == nil {
				aged = c.opts.After(c.opts.MaxAge)
			}
			select {
			case <-ctx.Done():
				continue // the final flush happens at the top of the loop
			case <-changed:
				continue
			case <-aged:
			}
		}
		if !c.deliver(ctx, batch) {
			return nil
		}
		batch, aged = nil, nil
	}
}

// deliver writes batch to the sink until it succeeds, then commits it. It
// reports false if ctx was done first; the final flush has then been made.
func (c *consumeLoop) deliver(ctx context.Context, batch []Record) bool {
	for attempt := 1; ; attempt++ {
		err := c.sink.Write(ctx, batch)
		if err == nil {
			c.bo.Reset()
			c.commit(batch)
			return true
		}
		if ctx.Err() != nil {
			c.flushFinal(ctx, batch)
			return false
		}
		c.metrics.consumerFailed(c.r.Name())
		c.log.Warn("sink write failed; retrying the same batch",
			batchAttrs(batch), slog.Int("attempt", attempt), slog.Any("err", err))
		if err := c.bo.WaitFor(ctx, RetryAfter(err)); err != nil {
			c.flushFinal(ctx, batch)
			return false
		}
	}
}

// flushFinal makes one last attempt to write and commit batch after ctx is
// done, bounded by FlushTimeout.
func (c *consumeLoop) flushFinal(ctx context.Context, batch []Record) {
	if len(batch) == 0 {
		return
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.opts.FlushTimeout)
	defer cancel()
	if err := c.sink.Write(fctx, batch); err != nil {
		c.metrics.consumerFailed(c.r.Name())
		c.log.Warn("final flush failed; the batch will be redelivered after restart",
			batchAttrs(batch), slog.Any("err", err))
		return
	}
	c.commit(batch)
}

func (c *consumeLoop) commit(batch []Record) {
	c.metrics.batchDelivered(c.r.Name(), len(batch))
	if err := c.r.Commit(batch[len(batch)-1].Seq); err != nil {
		c.metrics.consumerFailed(c.r.Name())
		c.log.Error("commit cursor failed; the next commit covers it, or records are redelivered after restart",
			batchAttrs(batch), slog.Any("err", err))
	}
}

func batchAttrs(batch []Record) slog.Attr {
	return slog.Group("batch",
		slog.Uint64("first_seq", batch[0].Seq),
		slog.Uint64("last_seq", batch[len(batch)-1].Seq),
		slog.Int("records", len(batch)))
}
