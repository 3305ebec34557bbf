package spool

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func TestRoundTripManySegmentsAndReopen(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 128}
	want := map[uint64][]byte{}

	s := openTest(t, opts, hooks{})
	for i := range 40 {
		// Mix single- and multi-record calls and sizes around the segment size.
		batch := [][]byte{payload(fmt.Sprintf("r%d", i), 10+i*7)}
		if i%5 == 0 {
			batch = append(batch, payload(fmt.Sprintf("r%db", i), 3), nil)
		}
		for j, seq := range mustAppend(t, s, batch...) {
			want[seq] = batch[j]
		}
	}
	st := s.Stats()
	if st.FirstSeq != 1 || st.LastSeq != uint64(len(want)) {
		t.Fatalf("Stats = %+v, want FirstSeq 1, LastSeq %d", st, len(want))
	}
	if st.Segments < 10 || st.Segments != len(segmentFiles(t, dir)) {
		t.Fatalf("Stats.Segments = %d with %d files; want >= 10 and equal", st.Segments, len(segmentFiles(t, dir)))
	}
	checkRecords(t, drain(t, mustReader(t, s, "first")), want)
	st = s.Stats() // now with one consumer
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openTest(t, opts, hooks{})
	if got := s.Stats(); got != st {
		t.Fatalf("Stats after reopen = %+v, want %+v", got, st)
	}
	for i := range 10 {
		p := payload(fmt.Sprintf("after%d", i), 50)
		seq := mustAppend(t, s, p)[0]
		if seq != st.LastSeq+uint64(i)+1 {
			t.Fatalf("Append after reopen got seq %d, want %d", seq, st.LastSeq+uint64(i)+1)
		}
		want[seq] = p
	}
	checkRecords(t, drain(t, mustReader(t, s, "second")), want)
}

func TestSequenceContinuesAfterEverythingConsumed(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 64}
	s := openTest(t, opts, hooks{})
	r := mustReader(t, s, "only")
	for range 5 {
		mustAppend(t, s, payload("x", 60)) // one record per segment
	}
	drain(t, r)
	if err := r.Commit(5); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); !slices.Equal(got, []string{segmentName(5)}) {
		t.Fatalf("segments after consuming everything = %v, want only the active one", got)
	}
	r.Close()
	s.Close()

	s = openTest(t, opts, hooks{})
	if seq := mustAppend(t, s, []byte("next"))[0]; seq != 6 {
		t.Fatalf("seq after reopen = %d, want 6", seq)
	}
	r = mustReader(t, s, "only")
	checkRecords(t, drain(t, r), map[uint64][]byte{6: []byte("next")})
}

func TestAppendRejects(t *testing.T) {
	s := openTest(t, Options{}, hooks{})
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name     string
		ctx      context.Context
		payloads [][]byte
		want     error
	}{
		{"no payloads", context.Background(), nil, nil},
		{"too large", context.Background(), [][]byte{[]byte("ok"), make([]byte, MaxRecordBytes+1)}, ErrTooLarge},
		{"cancelled", cancelled, [][]byte{[]byte("x")}, context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Append(tt.ctx, tt.payloads...)
			if err == nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("Append = %v, want %v", err, tt.want)
			}
		})
	}
	if st := s.Stats(); st.LastSeq != 0 {
		t.Fatalf("rejected appends wrote records: LastSeq = %d", st.LastSeq)
	}
}

func TestCloseFinishesQueuedAppends(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	enqueued := make(chan struct{}, 2)
	first := true
	s := openTest(t, Options{}, hooks{
		enqueued: func() { enqueued <- struct{}{} },
		beforeCommit: func() {
			if first { // only the committer calls this
				first = false
				close(entered)
				<-release
			}
		},
	})

	results := make(chan error, 2)
	go func() { _, err := s.Append(context.Background(), []byte("a")); results <- err }()
	<-entered // the committer holds batch [a]
	<-enqueued
	go func() { _, err := s.Append(context.Background(), []byte("b")); results <- err }()
	<-enqueued // b is queued behind it

	closed := make(chan error)
	go func() { closed <- s.Close() }()
	close(release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	for range 2 {
		if err := <-results; err != nil {
			t.Fatalf("append queued before Close failed: %v", err)
		}
	}
	if _, err := s.Append(context.Background(), []byte("c")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Append after Close = %v, want ErrClosed", err)
	}
	if err := s.Healthy(); !errors.Is(err, ErrClosed) {
		t.Fatalf("Healthy after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
}

func TestCloseWakesBlockedReader(t *testing.T) {
	s := openTest(t, Options{}, hooks{})
	r := mustReader(t, s, "r")
	done := make(chan error)
	go func() {
		_, err := r.Next(context.Background(), 10)
		done <- err
	}()
	s.Close()
	if err := <-done; !errors.Is(err, ErrClosed) {
		t.Fatalf("Next after Close = %v, want ErrClosed", err)
	}
}

func TestOpenLocksDirectory(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir}, hooks{})
	if _, err := Open(Options{Dir: dir}); err == nil || !strings.Contains(err.Error(), "already open") {
		t.Fatalf("second Open = %v, want lock error", err)
	}
	s.Close()
	s2, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatalf("Open after Close: %v", err)
	}
	s2.Close()
}
