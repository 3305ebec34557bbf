package spool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
)

// Record is one appended payload and its sequence number. Data is owned by
// the caller.
type Record struct {
	Seq  uint64
	Data []byte
}

// Reader reads durable records in sequence order for one named consumer,
// starting after the consumer's committed cursor. There is at most one open
// Reader per name. A Reader is not safe for concurrent use.
type Reader struct {
	s      *Spool
	c      *consumer
	next   uint64 // seq Next returns next; next-1 is the last one returned
	closed bool

	// Position in the segment holding next: the frame for fseq starts at
	// off. Advanced only past records that were returned or skipped.
	f     *os.File
	first uint64 // first seq of f
	fseq  uint64
	off   int64
	br    *bufio.Reader
}

// Reader opens a Reader for the consumer called name (1-64 characters of
// [A-Za-z0-9_-]). A name without a cursor is registered: its cursor is
// created just before the oldest retained record, and from then on segments
// are kept until it has committed past them. Only one Reader per name may be
// open at a time.
func (s *Spool) Reader(name string) (*Reader, error) {
	c, err := s.register(name)
	if err != nil {
		return nil, fmt.Errorf("open reader: %w", err)
	}
	return &Reader{s: s, c: c, next: c.cursor + 1}, nil
}

// Name returns the consumer name of r.
func (r *Reader) Name() string { return r.c.name }

// Next returns up to max records following the last record it returned (or
// the committed cursor, for a new Reader). It never returns a record that is
// not durable. If none is available it blocks until one is, ctx is done
// (ctx.Err()) or the spool is closed (ErrClosed).
func (r *Reader) Next(ctx context.Context, max int) ([]Record, error) {
	if max <= 0 {
		return nil, fmt.Errorf("read spool: max %d must be positive", max)
	}
	for {
		changed := r.s.changedChan()
		recs, err := r.poll(max)
		if err != nil || len(recs) > 0 {
			return recs, err
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-changed:
		}
	}
}

// changedChan returns a channel that is closed when more records become
// durable or the spool closes. Take it before looking for records so that no
// wake-up is missed.
func (s *Spool) changedChan() <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.changed
}

// poll returns up to max durable records without blocking, possibly none.
// If reading fails after some records were read, those are returned and the
// error is reported by the next call.
func (r *Reader) poll(max int) ([]Record, error) {
	if r.closed {
		return nil, fmt.Errorf("read spool: reader %q is closed", r.c.name)
	}
	var recs []Record
	for len(recs) < max {
		got, err := r.readSome(max - len(recs))
		recs = append(recs, got...)
		switch {
		case err != nil && len(recs) > 0:
			return recs, nil
		case err != nil:
			return nil, fmt.Errorf("read spool for %q: %w", r.c.name, err)
		case len(got) == 0:
			return recs, nil
		}
	}
	return recs, nil
}

// readSome reads up to n durable records from the segment holding r.next.
func (r *Reader) readSome(n int) ([]Record, error) {
	seg, ok, err := r.s.locate(r.next)
	if err != nil || !ok {
		return nil, err
	}
	if r.f == nil || r.first != seg.first {
		if err := r.openSegment(seg.first); err != nil {
			return nil, err
		}
	}
	return r.readSegment(seg, min(uint64(n), seg.last-r.next+1))
}

// segmentView is what a reader may read of one segment: records up to last,
// bytes up to size. Both are durable.
type segmentView struct {
	first, last uint64
	size        int64
}

// locate finds the segment holding seq. It reports false if seq is not
// durable yet.
func (s *Spool) locate(seq uint64) (segmentView, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return segmentView{}, false, ErrClosed
	}
	if seq > s.lastSeq {
		return segmentView{}, false, nil
	}
	i := sort.Search(len(s.segments), func(i int) bool { return s.segments[i].first > seq }) - 1
	if i < 0 {
		return segmentView{}, false, fmt.Errorf("record %d was already deleted", seq)
	}
	last := s.lastSeq
	if i+1 < len(s.segments) {
		last = s.segments[i+1].first - 1
	}
	return segmentView{first: s.segments[i].first, last: last, size: s.segments[i].size}, true, nil
}

func (r *Reader) openSegment(first uint64) error {
	if r.f != nil {
		r.f.Close()
		r.f = nil
	}
	f, err := os.Open(filepath.Join(r.s.dir, segmentName(first)))
	if err != nil {
		return err
	}
	r.f, r.first, r.fseq, r.off = f, first, first, segmentHdrSize
	return nil
}

// readSegment reads n records starting at r.next from the current segment.
// It reads through a window ending at the segment's durable size, so bytes
// of a batch still being written (or rolled back) are never seen.
func (r *Reader) readSegment(seg segmentView, n uint64) ([]Record, error) {
	if r.br == nil {
		r.br = bufio.NewReaderSize(nil, 64<<10)
	}
	r.br.Reset(io.NewSectionReader(r.f, r.off, seg.size-r.off))
	for r.fseq < r.next { // a new Reader positioned after its cursor
		size, err := skipFrame(r.br)
		if err != nil {
			return nil, r.frameError(err)
		}
		r.fseq++
		r.off += size
	}
	recs := make([]Record, 0, n)
	for range n {
		data, err := readFrame(r.br, r.next, nil)
		if err != nil {
			return recs, r.frameError(err)
		}
		recs = append(recs, Record{Seq: r.next, Data: data})
		r.next++
		r.fseq++
		r.off += frameSize(len(data))
	}
	return recs, nil
}

func (r *Reader) frameError(err error) error {
	if errors.Is(err, io.EOF) {
		err = errTornFrame // the durable size promised more
	}
	return fmt.Errorf("segment %s, record %d at offset %d: %w", segmentName(r.first), r.fseq, r.off, err)
}

// Commit durably records that every record up to and including seq was
// handled, so that after a restart this consumer's Reader resumes at seq+1.
// seq must be at least the last committed value (committing it again is a
// no-op) and at most the last record Next returned. Once every registered
// consumer has committed past a segment that is not the active one, the
// segment is deleted. The cursor file is replaced atomically (temporary
// file, fsync, rename, directory fsync).
func (r *Reader) Commit(seq uint64) error {
	s := r.s
	s.mu.Lock()
	closed, committed := s.closed, r.c.cursor
	s.mu.Unlock()
	switch {
	case closed:
		return fmt.Errorf("commit cursor %q: %w", r.c.name, ErrClosed)
	case r.closed:
		return fmt.Errorf("commit cursor %q: reader is closed", r.c.name)
	case seq < committed:
		return fmt.Errorf("commit cursor %q to %d: already committed %d", r.c.name, seq, committed)
	case seq >= r.next:
		return fmt.Errorf("commit cursor %q to %d: not read yet (last read %d)", r.c.name, seq, r.next-1)
	case seq == committed:
		return nil
	}
	if err := writeCursor(s.dir, r.c.name, seq); err != nil {
		return fmt.Errorf("commit cursor %q: %w", r.c.name, err)
	}
	s.mu.Lock()
	r.c.cursor = seq
	s.metrics.setConsumerLag(r.c.name, s.lastSeq-seq)
	s.mu.Unlock()
	s.collectSegments()
	return nil
}

// Committed returns the consumer's last committed seq.
func (r *Reader) Committed() uint64 {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.c.cursor
}

// Lag returns how many durable records this consumer has not committed yet.
func (r *Reader) Lag() uint64 {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	return r.s.lastSeq - r.c.cursor
}

// Close releases the Reader's file and its claim on the consumer name. The
// cursor stays registered; see Spool.RemoveConsumer. Close is idempotent.
func (r *Reader) Close() error {
	if r.closed {
		return nil
	}
	r.closed = true
	r.s.mu.Lock()
	r.c.open = false
	r.s.mu.Unlock()
	if r.f != nil {
		return r.f.Close()
	}
	return nil
}
