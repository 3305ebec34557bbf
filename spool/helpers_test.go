package spool

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// openTest opens a spool in opts.Dir (a fresh temp dir if empty) with the
// given hooks, logging to the test output, and closes it at cleanup.
func openTest(t testing.TB, opts Options, h hooks) *Spool {
	t.Helper()
	if opts.Dir == "" {
		opts.Dir = t.TempDir()
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	}
	s, err := open(opts, h)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

// mustAppend appends payloads as one call and returns the seq of each.
func mustAppend(t testing.TB, s *Spool, payloads ...[]byte) []uint64 {
	t.Helper()
	last, err := s.Append(context.Background(), payloads...)
	if err != nil {
		t.Fatalf("Append: %v", err)
	}
	seqs := make([]uint64, len(payloads))
	for i := range seqs {
		seqs[i] = last - uint64(len(payloads)-1-i)
	}
	return seqs
}

// mustReader opens a Reader and closes it at cleanup.
func mustReader(t testing.TB, s *Spool, name string) *Reader {
	t.Helper()
	r, err := s.Reader(name)
	if err != nil {
		t.Fatalf("Reader(%q): %v", name, err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// drain returns every durable record r has not returned yet, without
// blocking.
func drain(t testing.TB, r *Reader) []Record {
	t.Helper()
	var all []Record
	for {
		recs, err := r.poll(1000)
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if len(recs) == 0 {
			return all
		}
		all = append(all, recs...)
	}
}

// payload returns n bytes made of tag, e.g. "ab.ab.a".
func payload(tag string, n int) []byte {
	b := bytes.Repeat([]byte(tag+"."), n/(len(tag)+1)+1)
	return b[:n]
}

// checkRecords asserts that recs are exactly want, keyed by seq, in order.
func checkRecords(t testing.TB, recs []Record, want map[uint64][]byte) {
	t.Helper()
	if len(recs) != len(want) {
		t.Fatalf("got %d records, want %d", len(recs), len(want))
	}
	for i, rec := range recs {
		if i > 0 && rec.Seq != recs[i-1].Seq+1 {
			t.Fatalf("record %d has seq %d after %d: not contiguous", i, rec.Seq, recs[i-1].Seq)
		}
		w, ok := want[rec.Seq]
		if !ok {
			t.Fatalf("unexpected record seq %d", rec.Seq)
		}
		if !bytes.Equal(rec.Data, w) {
			t.Fatalf("record %d: payload %q, want %q", rec.Seq, rec.Data, w)
		}
	}
}

// segmentFiles lists the segment file names in dir.
func segmentFiles(t testing.TB, dir string) []string {
	t.Helper()
	firsts, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(firsts))
	for i, f := range firsts {
		names[i] = segmentName(f)
	}
	return names
}

// lastSegmentPath is the path of the newest segment file in dir.
func lastSegmentPath(t testing.TB, dir string) string {
	t.Helper()
	names := segmentFiles(t, dir)
	if len(names) == 0 {
		t.Fatal("no segment files")
	}
	return filepath.Join(dir, names[len(names)-1])
}

func appendToFile(t testing.TB, path string, b []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func fileSize(t testing.TB, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// logRecorder is a slog.Handler that keeps the records it receives.
type logRecorder struct {
	mu   sync.Mutex
	recs []slog.Record
}

func (h *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (h *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *logRecorder) WithGroup(string) slog.Handler            { return h }
func (h *logRecorder) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.recs = append(h.recs, r)
	return nil
}

// messages returns the messages logged at level.
func (h *logRecorder) messages(level slog.Level) []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, r := range h.recs {
		if r.Level == level {
			out = append(out, r.Message)
		}
	}
	return out
}

// faults makes the committer's file operations fail on demand. Each armed
// fault fires once.
type faults struct {
	mu          sync.Mutex
	writeErr    error // WriteAt fails with it after writing half the buffer
	syncErr     error
	truncateErr error
}

func (f *faults) take(p *error) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	err := *p
	*p = nil
	return err
}

func (f *faults) arm(write, sync, truncate error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.writeErr, f.syncErr, f.truncateErr = write, sync, truncate
}

func (f *faults) wrap(sf segmentFile) segmentFile { return &faultyFile{segmentFile: sf, faults: f} }

type faultyFile struct {
	segmentFile
	faults *faults
}

func (f *faultyFile) WriteAt(b []byte, off int64) (int, error) {
	if err := f.faults.take(&f.faults.writeErr); err != nil {
		n, _ := f.segmentFile.WriteAt(b[:len(b)/2], off)
		return n, &os.PathError{Op: "write", Path: "segment", Err: err}
	}
	return f.segmentFile.WriteAt(b, off)
}

func (f *faultyFile) Sync() error {
	if err := f.faults.take(&f.faults.syncErr); err != nil {
		return &os.PathError{Op: "sync", Path: "segment", Err: err}
	}
	return f.segmentFile.Sync()
}

func (f *faultyFile) Truncate(size int64) error {
	if err := f.faults.take(&f.faults.truncateErr); err != nil {
		return &os.PathError{Op: "truncate", Path: "segment", Err: err}
	}
	return f.segmentFile.Truncate(size)
}

// seqs returns the seqs of recs.
func seqs(recs []Record) []uint64 {
	out := make([]uint64, len(recs))
	for i, r := range recs {
		out[i] = r.Seq
	}
	return out
}

// seqRange returns [from, to].
func seqRange(from, to uint64) []uint64 {
	var out []uint64
	for s := from; s <= to; s++ {
		out = append(out, s)
	}
	return out
}
