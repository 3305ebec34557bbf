package spool

import (
	"errors"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// A consumer's cursor lives in "<name>.cursor" as the decimal seq of the last
// record it has handled. It is replaced atomically: written to
// "<name>.cursor.tmp", fsynced, renamed over, and the directory fsynced.
const (
	cursorSuffix    = ".cursor"
	cursorTmpSuffix = ".cursor.tmp"
	maxConsumerName = 64
)

// consumer is a registered consumer, i.e. one with a cursor file. Guarded by
// Spool.mu.
type consumer struct {
	name   string
	cursor uint64 // last committed seq
	open   bool   // a Reader is open for it
}

// validateConsumerName accepts names that are safe as file names and metric
// label values: 1-64 of [A-Za-z0-9_-].
func validateConsumerName(name string) error {
	if name == "" || len(name) > maxConsumerName {
		return fmt.Errorf("consumer name %q: want 1 to %d characters", name, maxConsumerName)
	}
	for _, c := range name {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return fmt.Errorf("consumer name %q: want only letters, digits, '_' and '-'", name)
		}
	}
	return nil
}

// loadCursors registers every consumer with a cursor file, removes leftovers
// of interrupted commits and deletes segments all consumers had passed when
// the process stopped. Called by Open before the committer starts.
func (s *Spool) loadCursors() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("load cursors: %w", err)
	}
	first := s.firstSeqLocked()
	for _, e := range entries {
		file := e.Name()
		switch {
		case strings.HasSuffix(file, cursorTmpSuffix):
			if err := os.Remove(filepath.Join(s.dir, file)); err != nil {
				return fmt.Errorf("remove stale cursor: %w", err)
			}
		case strings.HasSuffix(file, cursorSuffix):
			name := strings.TrimSuffix(file, cursorSuffix)
			if err := validateConsumerName(name); err != nil {
				s.log.Warn("ignoring cursor file with invalid name", slog.String("file", file))
				continue
			}
			seq, err := readCursor(filepath.Join(s.dir, file))
			if err != nil {
				return fmt.Errorf("load cursor %q: %w", name, err)
			}
			if seq > s.lastSeq {
				return fmt.Errorf("load cursor %q: at record %d but the spool ends at %d: acknowledged records are missing",
					name, seq, s.lastSeq)
			}
			if seq+1 < first {
				s.log.Warn("cursor points before the oldest retained record; resuming there",
					slog.String("consumer", name), slog.Uint64("cursor", seq), slog.Uint64("first_seq", first))
				seq = first - 1
			}
			s.consumers[name] = &consumer{name: name, cursor: seq}
		}
	}
	s.collectSegments()
	return nil
}

func readCursor(path string) (uint64, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	seq, err := strconv.ParseUint(strings.TrimSuffix(string(b), "\n"), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %s: %w", filepath.Base(path), err)
	}
	return seq, nil
}

// writeCursor durably replaces the cursor file of name with seq.
func writeCursor(dir, name string, seq uint64) error {
	path := filepath.Join(dir, name+cursorSuffix)
	tmp := filepath.Join(dir, name+cursorTmpSuffix)
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return err
	}
	_, err = f.WriteString(strconv.FormatUint(seq, 10) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return err
	}
	return syncDir(dir)
}

// register returns the consumer called name, marked open. A consumer seen
// for the first time gets a cursor just before the oldest retained record,
// written durably so that from now on segments are kept for it.
func (s *Spool) register(name string) (*consumer, error) {
	if err := validateConsumerName(name); err != nil {
		return nil, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	c, ok := s.consumers[name]
	if ok && c.open {
		s.mu.Unlock()
		return nil, fmt.Errorf("consumer %q already has an open Reader", name)
	}
	if !ok {
		// Registering under the lock holds back deletion of the oldest
		// segment from now on, even before the file is written.
		c = &consumer{name: name, cursor: s.firstSeqLocked() - 1}
		s.consumers[name] = c
	}
	c.open = true
	s.mu.Unlock()

	if !ok {
		if err := writeCursor(s.dir, name, c.cursor); err != nil {
			s.mu.Lock()
			delete(s.consumers, name)
			s.mu.Unlock()
			return nil, fmt.Errorf("create cursor: %w", err)
		}
		s.log.Info("registered new consumer", slog.String("consumer", name), slog.Uint64("cursor", c.cursor))
	}
	s.mu.Lock()
	s.metrics.addConsumer(name, s.lastSeq-c.cursor)
	s.mu.Unlock()
	return c, nil
}

// RemoveConsumer forgets a consumer that has no open Reader: its cursor file
// is deleted and segments are no longer kept for it. Use it when a consumer
// is retired for good; otherwise it holds back segment deletion forever.
func (s *Spool) RemoveConsumer(name string) error {
	s.mu.Lock()
	c, ok := s.consumers[name]
	switch {
	case s.closed:
		s.mu.Unlock()
		return fmt.Errorf("remove consumer %q: %w", name, ErrClosed)
	case !ok:
		s.mu.Unlock()
		return fmt.Errorf("remove consumer %q: %w", name, os.ErrNotExist)
	case c.open:
		s.mu.Unlock()
		return fmt.Errorf("remove consumer %q: a Reader is open", name)
	}
	delete(s.consumers, name)
	s.mu.Unlock()
	s.metrics.forgetConsumer(name)

	err := os.Remove(filepath.Join(s.dir, name+cursorSuffix))
	if err == nil {
		err = syncDir(s.dir)
	}
	s.collectSegments()
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove consumer %q: %w", name, err)
	}
	return nil
}

// releaseLocked detaches the segments that every registered consumer has
// passed, except the active one, and returns them for deletion. With no
// registered consumer nothing is released: records wait for their first
// reader.
func (s *Spool) releaseLocked() []*segment {
	if len(s.consumers) == 0 {
		return nil
	}
	low := uint64(math.MaxUint64)
	for _, c := range s.consumers {
		low = min(low, c.cursor)
	}
	n := 0
	for n < len(s.segments)-1 && s.segments[n+1].first-1 <= low {
		n++
	}
	if n == 0 {
		return nil
	}
	victims := slices.Clone(s.segments[:n])
	s.segments = slices.Delete(s.segments, 0, n)
	for _, v := range victims {
		s.bytes -= v.size
	}
	s.metrics.setSize(s.bytes, len(s.segments))
	return victims
}

// collectSegments deletes the segment files that every registered consumer
// has passed, oldest first, fsyncing the directory after each so that the
// files left after a crash are contiguous. A file that cannot be deleted
// stays queued (with everything after it) for the next call.
func (s *Spool) collectSegments() {
	s.gcMu.Lock()
	defer s.gcMu.Unlock()
	s.mu.Lock()
	s.deletable = append(s.deletable, s.releaseLocked()...)
	closed := s.closed
	s.mu.Unlock()
	if closed {
		return // the directory may already belong to another Spool; Open will release them again
	}

	for len(s.deletable) > 0 {
		name := segmentName(s.deletable[0].first)
		err := os.Remove(filepath.Join(s.dir, name))
		if err == nil || errors.Is(err, os.ErrNotExist) {
			err = syncDir(s.dir)
		}
		if err != nil {
			s.log.Warn("delete consumed segment", slog.String("segment", name), slog.Any("err", err))
			return
		}
		s.log.Debug("deleted consumed segment", slog.String("segment", name))
		s.deletable = s.deletable[1:]
	}
}
