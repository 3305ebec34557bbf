package spool

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
)

// DefaultSegmentBytes is the segment roll size used when Options.SegmentBytes
// is zero.
const DefaultSegmentBytes = 64 << 20

// Options configures Open.
type Options struct {
	Dir          string       // spool directory; created if missing
	SegmentBytes int64        // roll to a new segment past this size (default 64 MiB)
	MaxBytes     int64        // Append returns ErrFull rather than take record bytes past this total (0 = unlimited)
	Logger       *slog.Logger // nil = discard
	Metrics      *Metrics     // nil = none
}

// segmentFile is the part of *os.File the committer writes through; tests
// wrap it to inject faults.
type segmentFile interface {
	io.WriterAt
	Truncate(size int64) error
	Sync() error
	Close() error
}

// hooks let tests observe and perturb the committer. All nil in production.
type hooks struct {
	enqueued     func()                        // after Append queued its request
	beforeCommit func()                        // committer took a batch, before writing it
	wrapFile     func(segmentFile) segmentFile // wraps every active segment file
	freeBytes    func(dir string) int64        // free space on dir's file system (default freeBytes)
}

// Spool is a durable, append-only, multi-consumer record log in one
// directory. It is safe for concurrent use. See the package documentation
// for the guarantees.
type Spool struct {
	dir     string
	opts    Options
	log     *slog.Logger
	metrics *Metrics
	hooks   hooks
	lock    *os.File // holds the directory lock

	// Owned by the committer goroutine (run) once Open has returned.
	active      segmentFile
	activeFirst uint64 // first seq of the active segment
	activeSize  int64  // durable size of the active segment
	nextSeq     uint64 // seq the next written record gets
	wbuf        []byte // reused write buffer

	wake chan struct{} // capacity 1; signalled when queue grows or closed is set
	done chan struct{} // closed when the committer has exited

	gcMu      sync.Mutex // serialises segment deletion; taken before mu
	deletable []*segment // released segments whose files are still on disk; guarded by gcMu

	mu        sync.Mutex
	queue     []*appendReq // appends waiting for the committer
	closed    bool
	broken    error                // set once a rollback failed; see Healthy
	segments  []*segment           // ascending by first; the last is active
	bytes     int64                // sum of segment sizes
	lastSeq   uint64               // last durable seq (0: none ever written)
	changed   chan struct{}        // closed and replaced when lastSeq grows or the spool closes
	consumers map[string]*consumer // registered consumers by name
}

// Stats is a snapshot of the spool's durable state.
type Stats struct {
	Bytes     int64  // on-disk size of all segments
	Segments  int    // number of segment files, including the active one
	FirstSeq  uint64 // oldest retained record; LastSeq+1 when none is retained
	LastSeq   uint64 // newest durable record; 0 if none was ever written
	Consumers int    // registered consumers (cursor files)
}

// Open opens the spool in opts.Dir, creating it if needed, and recovers it:
// every segment is verified, a torn or corrupt tail of the last segment (never
// acknowledged, since acknowledgement follows fsync) is truncated away with a
// warning, and corruption anywhere else is an error. The directory is locked
// against a second Open until Close, also from another process.
func Open(opts Options) (*Spool, error) { return open(opts, hooks{}) }

func open(opts Options, h hooks) (_ *Spool, err error) {
	if opts.Dir == "" {
		return nil, errors.New("open spool: Options.Dir is empty")
	}
	if opts.SegmentBytes <= 0 {
		opts.SegmentBytes = DefaultSegmentBytes
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if err := os.MkdirAll(opts.Dir, 0o750); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	lock, err := lockDir(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s := &Spool{
		dir:       opts.Dir,
		opts:      opts,
		log:       opts.Logger.With(slog.String("spool", opts.Dir)),
		metrics:   opts.Metrics,
		hooks:     h,
		lock:      lock,
		wake:      make(chan struct{}, 1),
		done:      make(chan struct{}),
		changed:   make(chan struct{}),
		consumers: make(map[string]*consumer),
	}
	defer func() {
		if err != nil {
			if s.active != nil {
				s.active.Close()
			}
			unlockDir(lock)
		}
	}()
	if err := s.recoverSegments(); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	if err := s.loadCursors(); err != nil {
		return nil, fmt.Errorf("open spool: %w", err)
	}
	s.metrics.setSize(s.bytes, len(s.segments))
	s.metrics.setMaxBytes(opts.MaxBytes)
	for name, c := range s.consumers {
		s.metrics.addConsumer(name, s.lastSeq-c.cursor)
	}
	go s.run()
	return s, nil
}

// recoverSegments scans the segment files, repairs the tail of the last one,
// checks that sequence numbers are contiguous across files and opens the
// active segment for writing. A new spool gets segment 1.
func (s *Spool) recoverSegments() error {
	firsts, err := listSegments(s.dir)
	if err != nil {
		return err
	}
	if len(firsts) == 0 {
		f, err := createSegment(s.dir, 1)
		if err != nil {
			return err
		}
		f.Close() // reopened below like any other active segment
		firsts = []uint64{1}
		s.log.Info("created new spool")
	}
	next := firsts[0]
	for i, first := range firsts {
		name := segmentName(first)
		if first != next {
			return fmt.Errorf("segment %s: expected it to start at record %d", name, next)
		}
		res, err := scanSegment(filepath.Join(s.dir, name), first)
		if err != nil {
			return fmt.Errorf("scan segment %s: %w", name, err)
		}
		if res.tailErr != nil {
			if i < len(firsts)-1 {
				return fmt.Errorf("segment %s is corrupt and not the last one: %w", name, res.tailErr)
			}
			if res.validSize, err = s.repairTail(first, res); err != nil {
				return err
			}
		}
		s.segments = append(s.segments, &segment{first: first, size: res.validSize})
		s.bytes += res.validSize
		next = first + res.count
	}
	s.nextSeq = next
	s.lastSeq = next - 1
	active := s.segments[len(s.segments)-1]
	s.activeFirst, s.activeSize = active.first, active.size

	f, err := os.OpenFile(filepath.Join(s.dir, segmentName(active.first)), os.O_WRONLY, 0)
	if err != nil {
		return fmt.Errorf("open active segment: %w", err)
	}
	s.active = s.wrap(f)
	return nil
}

// repairTail makes the last segment end at its last valid record and returns
// its new size. A segment whose header never made it to disk is re-created.
func (s *Spool) repairTail(first uint64, res scanResult) (int64, error) {
	name := segmentName(first)
	s.log.Warn("truncating torn tail of last segment; it was never acknowledged",
		slog.String("segment", name),
		slog.Int64("valid_bytes", res.validSize),
		slog.Int64("dropped_bytes", res.fileSize-res.validSize),
		slog.Any("reason", res.tailErr))
	if res.validSize == 0 { // no valid header
		if res.fileSize > segmentHdrSize {
			return 0, fmt.Errorf("segment %s: %w and %d bytes of data", name, res.tailErr, res.fileSize)
		}
		f, err := createSegment(s.dir, first)
		if err != nil {
			return 0, fmt.Errorf("repair segment %s: %w", name, err)
		}
		return segmentHdrSize, f.Close()
	}
	path := filepath.Join(s.dir, name)
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return 0, fmt.Errorf("repair segment %s: %w", name, err)
	}
	defer f.Close()
	if err := f.Truncate(res.validSize); err != nil {
		return 0, fmt.Errorf("repair segment %s: %w", name, err)
	}
	if err := f.Sync(); err != nil {
		return 0, fmt.Errorf("repair segment %s: %w", name, err)
	}
	return res.validSize, nil
}

func (s *Spool) wrap(f segmentFile) segmentFile {
	if s.hooks.wrapFile != nil {
		return s.hooks.wrapFile(f)
	}
	return f
}

// Close waits for queued appends to be written (they are acknowledged
// normally), stops the committer and releases the directory. Appends after
// Close fail with ErrClosed, and so do Next and Commit of open Readers;
// Readers should still be closed. Close the spool only after every Consume
// has returned. A second Close returns ErrClosed.
func (s *Spool) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	s.closed = true
	s.mu.Unlock()
	s.signal()
	<-s.done

	err := s.active.Close()
	s.mu.Lock()
	close(s.changed) // wake blocked readers; they see closed
	s.mu.Unlock()
	if uerr := unlockDir(s.lock); err == nil {
		err = uerr
	}
	if err != nil {
		return fmt.Errorf("close spool: %w", err)
	}
	return nil
}

// Stats returns a snapshot of the spool's durable state.
func (s *Spool) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Stats{
		Bytes:     s.bytes,
		Segments:  len(s.segments),
		FirstSeq:  s.firstSeqLocked(),
		LastSeq:   s.lastSeq,
		Consumers: len(s.consumers),
	}
}

// Healthy returns nil unless the spool can no longer accept writes: after a
// write or fsync failure whose rollback also failed (the error wraps
// ErrBroken), or after Close (ErrClosed). Intended for readiness probes.
func (s *Spool) Healthy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.broken != nil:
		return s.broken
	case s.closed:
		return ErrClosed
	}
	return nil
}

// firstSeqLocked is the oldest retained seq, or lastSeq+1 if there is none.
func (s *Spool) firstSeqLocked() uint64 { return min(s.segments[0].first, s.lastSeq+1) }
