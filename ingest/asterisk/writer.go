package asterisk

import (
	"context"
	"errors"
	"time"

	"github.com/callpulse/callpulse/backoff"
)

// maxBatch bounds the payloads of one Append call.
const maxBatch = 256

// enqueue hands a payload to the writer. When the buffer is full it logs
// once and blocks, so the session stops reading from the WebSocket until
// the spool catches up. It fails only when ctx is done; the payload is then
// counted as dropped.
func (s *Source) enqueue(ctx context.Context, buf chan<- []byte, payload []byte) error {
	s.stats.buffered.Add(1)
	select {
	case buf <- payload:
		return nil
	default:
	}
	s.log.Warn("ARI event buffer full: the spool is not keeping up; pausing reads from ARI",
		"buffered", cap(buf))
	select {
	case buf <- payload:
		s.log.Info("ARI event buffer has room again; reading from ARI")
		return nil
	case <-ctx.Done():
		s.stats.buffered.Add(-1)
		s.stats.dropped.Add(1)
		return ctx.Err()
	}
}

// writeLoop appends buffered payloads in batches until buf is closed and
// empty. A failed Append is retried with the same batch after a backoff (or
// the spool's Retry-After, if longer), so at most BufferSize events wait in
// buf plus one batch of at most BufferSize being stored. When ctx is done
// (the drain deadline after shutdown) whatever is left is counted as
// dropped.
func (s *Source) writeLoop(ctx context.Context, buf <-chan []byte) {
	bo := backoff.New(s.opts.Backoff)
	limit := min(maxBatch, s.opts.BufferSize)
	batch := make([][]byte, 0, limit)
	for {
		select {
		case p, ok := <-buf:
			if !ok {
				return
			}
			batch = append(batch, p)
		case <-ctx.Done():
			s.drop(nil, buf)
			return
		}
		batch = fill(batch, buf, limit)
		for {
			_, err := s.opts.Appender.Append(ctx, batch...)
			if err == nil {
				break
			}
			s.stats.appendRetries.Add(1)
			if ctx.Err() == nil {
				s.log.Warn("cannot store ARI call events; retrying", "events", len(batch), "err", err)
			}
			if bo.WaitFor(ctx, retryAfter(err)) != nil {
				s.drop(batch, buf)
				return
			}
		}
		n := len(batch)
		s.stats.appended.Add(uint64(n))
		s.stats.buffered.Add(-int64(n))
		bo.Reset()
		clear(batch)
		batch = batch[:0]
	}
}

// fill adds payloads that are already waiting, without blocking.
func fill(batch [][]byte, buf <-chan []byte, limit int) [][]byte {
	for len(batch) < limit {
		select {
		case p, ok := <-buf:
			if !ok {
				return batch
			}
			batch = append(batch, p)
		default:
			return batch
		}
	}
	return batch
}

// drop counts the batch and everything still buffered as lost. It is
// called only after buf was closed, so draining it terminates.
func (s *Source) drop(batch [][]byte, buf <-chan []byte) {
	n := len(batch)
	for range buf {
		n++
	}
	s.stats.buffered.Add(-int64(n))
	s.stats.dropped.Add(uint64(n))
}

// retryAfter is the delay the spool asked for (spool.ErrFull carries one).
func retryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return 0
}
