package spool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// appendReq is one Append call waiting for the committer.
type appendReq struct {
	ctx    context.Context
	frames []byte // the call's records, framed; checksums set by the committer
	count  uint64 // records in frames
	done   chan appendResult
}

type appendResult struct {
	seq uint64
	err error
}

// Append writes payloads as consecutive records and returns the sequence
// number of the last one once all of them are durable (written and fsynced).
// Only then may the caller acknowledge them to anyone.
//
// Concurrent calls are group-committed: a single goroutine owns the active
// segment and writes every queued call with one write and one fsync. The
// records of one call are never split across writes or segments. Append
// copies the payloads before it queues them, so the caller may reuse them as
// soon as Append returns, whatever it returns.
//
// On failure none of the records is durable: the error wraps ErrFull (with a
// RetryAfter) when the spool is over MaxBytes or the disk is out of space,
// ErrTooLarge, ErrClosed, ErrBroken, or the I/O error. If ctx is done first,
// Append returns ctx.Err() and the records may or may not become durable (and
// be delivered to consumers): they are merely not acknowledged.
func (s *Spool) Append(ctx context.Context, payloads ...[]byte) (uint64, error) {
	if len(payloads) == 0 {
		return 0, errors.New("append to spool: no payloads")
	}
	for i, p := range payloads {
		if len(p) > MaxRecordBytes {
			return 0, fmt.Errorf("append to spool: payload %d has %d bytes: %w", i, len(p), ErrTooLarge)
		}
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	req := &appendReq{
		ctx:    ctx,
		frames: encodeFrames(payloads),
		count:  uint64(len(payloads)),
		done:   make(chan appendResult, 1),
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.metrics.appendFailed(reasonClosed)
		return 0, fmt.Errorf("append to spool: %w", ErrClosed)
	}
	s.queue = append(s.queue, req)
	s.mu.Unlock()
	s.signal()
	if s.hooks.enqueued != nil {
		s.hooks.enqueued()
	}

	select {
	case res := <-req.done:
		return res.seq, res.err
	case <-ctx.Done():
		select {
		case res := <-req.done: // durable after all: report it
			return res.seq, res.err
		default:
			return 0, ctx.Err()
		}
	}
}

// signal wakes the committer without blocking.
func (s *Spool) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// run is the committer goroutine, the only writer of segment files. It exits
// once the spool is closed and every queued append has been answered.
func (s *Spool) run() {
	defer close(s.done)
	for {
		batch, ok := s.takeBatch()
		if !ok {
			return
		}
		s.commit(batch)
		clear(batch) // the queue's backing array must not pin answered requests
		if cap(s.wbuf) > maxBatchBytes {
			s.wbuf = nil // do not keep the buffer of an exceptionally large call
		}
	}
}

// maxBatchBytes bounds how much one group commit writes (unless a single call
// is larger): bigger batches no longer amortise the fsync noticeably.
const maxBatchBytes = 4 << 20

// takeBatch waits for queued appends and removes the oldest of them from the
// queue: at least one, and no more than fit in maxBatchBytes and
// SegmentBytes. It reports false when the spool is closed and the queue is
// empty.
func (s *Spool) takeBatch() ([]*appendReq, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for len(s.queue) == 0 {
		if s.closed {
			return nil, false
		}
		s.mu.Unlock()
		<-s.wake
		s.mu.Lock()
	}
	limit := min(s.opts.SegmentBytes, maxBatchBytes)
	n, size := 1, int64(len(s.queue[0].frames))
	for ; n < len(s.queue); n++ {
		size += int64(len(s.queue[n].frames))
		if size > limit {
			break
		}
	}
	batch := s.queue[:n:n]
	s.queue = s.queue[n:]
	return batch, true
}

// commit writes one batch with a single write and fsync and answers every
// request in it. If the write or fsync fails, the segment is truncated back
// to its size before the batch and every request fails; if even that fails
// the spool is marked broken.
func (s *Spool) commit(batch []*appendReq) {
	if s.hooks.beforeCommit != nil {
		s.hooks.beforeCommit()
	}
	if batch = s.admit(batch); len(batch) == 0 {
		return
	}
	var size int64
	for _, req := range batch {
		size += int64(len(req.frames))
	}
	if s.nextSeq > s.activeFirst && s.activeSize+size > s.opts.SegmentBytes {
		if err := s.roll(); err != nil {
			s.failAll(batch, classifyIO(err))
			return
		}
	}

	buf, seq := s.wbuf[:0], s.nextSeq
	for _, req := range batch {
		start := len(buf)
		buf = append(buf, req.frames...)
		seq = sealFrames(buf[start:], seq)
	}
	s.wbuf = buf

	if err := s.writeAndSync(buf); err != nil {
		s.rollback(err)
		s.failAll(batch, classifyIO(err))
		return
	}
	s.publish(batch, int64(len(buf)), seq)
}

// admit answers the requests that must not be written — abandoned by their
// caller, refused because the spool is broken or over MaxBytes — and returns
// the others in order.
func (s *Spool) admit(batch []*appendReq) []*appendReq {
	s.mu.Lock()
	broken, used := s.broken, s.bytes
	s.mu.Unlock()

	free := int64(-1)
	if s.hooks.freeBytes != nil {
		free = s.hooks.freeBytes(s.dir)
	} else {
		free = freeBytes(s.dir)
	}
	admitted := batch[:0]
	for _, req := range batch {
		size := int64(len(req.frames))
		switch {
		case req.ctx.Err() != nil:
			req.done <- appendResult{err: req.ctx.Err()} // Append returns ctx.Err() anyway
		case broken != nil:
			s.fail(req, broken)
		case s.opts.MaxBytes > 0 && used+size > s.opts.MaxBytes:
			s.fail(req, errFull(fmt.Errorf("%d bytes used, %d more requested, limit %d",
				used, size, s.opts.MaxBytes)))
		case free >= 0 && free-size < DiskReserve:
			s.fail(req, errFull(fmt.Errorf("%d bytes free on the file system, %d requested, %d kept for cursor commits",
				free, size, DiskReserve)))
		default:
			used += size
			free -= size
			admitted = append(admitted, req)
		}
	}
	return admitted
}

// writeAndSync appends buf to the active segment and fsyncs it.
func (s *Spool) writeAndSync(buf []byte) error {
	name := segmentName(s.activeFirst)
	if _, err := s.active.WriteAt(buf, s.activeSize); err != nil {
		return fmt.Errorf("write segment %s: %w", name, err)
	}
	start := time.Now()
	err := s.active.Sync()
	s.metrics.observeFsync(time.Since(start))
	if err != nil {
		return fmt.Errorf("fsync segment %s: %w", name, err)
	}
	return nil
}

// rollback truncates the active segment back to its durable size after a
// failed write, so that no unacknowledged bytes stay in it. If that fails
// too, the spool is marked broken: later appends would land after bytes of
// unknown state.
func (s *Spool) rollback(cause error) {
	err := s.active.Truncate(s.activeSize)
	if err == nil {
		err = s.active.Sync()
	}
	if err == nil {
		s.log.Warn("append failed; rolled segment back", slog.Any("err", cause))
		return
	}
	broken := fmt.Errorf("%w: roll back segment %s after %v: %w",
		ErrBroken, segmentName(s.activeFirst), cause, err)
	s.log.Error("append failed and could not be rolled back; refusing further appends",
		slog.Any("err", broken))
	s.mu.Lock()
	s.broken = broken
	s.mu.Unlock()
}

// roll makes a new, empty segment starting at nextSeq the active one. The old
// segment is already fully durable.
func (s *Spool) roll() error {
	f, err := createSegment(s.dir, s.nextSeq)
	if err != nil {
		return err
	}
	if err := s.active.Close(); err != nil {
		s.log.Warn("close rolled segment", slog.String("segment", segmentName(s.activeFirst)), slog.Any("err", err))
	}
	s.active, s.activeFirst, s.activeSize = s.wrap(f), s.nextSeq, segmentHdrSize

	s.mu.Lock()
	s.segments = append(s.segments, &segment{first: s.activeFirst, size: s.activeSize})
	s.bytes += s.activeSize
	bytes, segments := s.bytes, len(s.segments)
	s.mu.Unlock()
	s.metrics.setSize(bytes, segments)
	s.log.Debug("rolled to new segment", slog.String("segment", segmentName(s.activeFirst)))
	return nil
}

// publish makes a written batch visible to readers and answers its requests.
// next is the seq after the batch's last record.
func (s *Spool) publish(batch []*appendReq, written int64, next uint64) {
	records := next - s.nextSeq
	s.activeSize += written
	s.nextSeq = next

	s.mu.Lock()
	s.segments[len(s.segments)-1].size = s.activeSize
	s.bytes += written
	s.lastSeq = next - 1
	close(s.changed)
	s.changed = make(chan struct{})
	bytes, segments := s.bytes, len(s.segments)
	s.metrics.setLag(s.lastSeq, s.consumers)
	s.mu.Unlock()

	s.metrics.batchCommitted(records)
	s.metrics.setSize(bytes, segments)
	seq := next - records
	for _, req := range batch {
		seq += req.count
		req.done <- appendResult{seq: seq - 1}
	}
}

func (s *Spool) fail(req *appendReq, err error) {
	s.metrics.appendFailed(failureReason(err))
	req.done <- appendResult{err: fmt.Errorf("append to spool: %w", err)}
}

func (s *Spool) failAll(batch []*appendReq, err error) {
	for _, req := range batch {
		s.fail(req, err)
	}
}
