package spool

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
)

func TestReaderResumesAfterCommittedCursor(t *testing.T) {
	dir := t.TempDir()
	opts := Options{Dir: dir, SegmentBytes: 64}
	s := openTest(t, opts, hooks{})
	want := map[uint64][]byte{}
	for i := range 10 {
		p := []byte(fmt.Sprintf("rec-%d", i))
		want[mustAppend(t, s, p)[0]] = p
	}
	r := mustReader(t, s, "warehouse")
	recs, err := r.Next(context.Background(), 6)
	if err != nil || !slices.Equal(seqs(recs), seqRange(1, 6)) {
		t.Fatalf("Next(6) = %v, %v; want seqs 1..6", seqs(recs), err)
	}
	if err := r.Commit(6); err != nil {
		t.Fatal(err)
	}
	drain(t, r) // read further but do not commit: must be redelivered
	r.Close()
	s.Close()

	s = openTest(t, opts, hooks{})
	r = mustReader(t, s, "warehouse")
	if r.Committed() != 6 || r.Lag() != 4 {
		t.Fatalf("after reopen Committed = %d, Lag = %d; want 6 and 4", r.Committed(), r.Lag())
	}
	for seq := range want {
		if seq <= 6 {
			delete(want, seq)
		}
	}
	checkRecords(t, drain(t, r), want)
}

func TestSegmentsDeletedOnlyWhenEveryConsumerPassed(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir, SegmentBytes: 64}, hooks{})
	a, b := mustReader(t, s, "a"), mustReader(t, s, "b")
	for range 10 {
		mustAppend(t, s, payload("x", 40)) // one record per segment
	}
	drain(t, a)
	drain(t, b)

	steps := []struct {
		reader    *Reader
		commit    uint64
		wantFirst uint64 // first segment left
	}{
		{a, 10, 1}, // b still needs everything
		{b, 4, 5},  // segments 1-4 passed by both
		{b, 9, 10}, // everything but the active segment
		{b, 10, 10},
	}
	for _, st := range steps {
		if err := st.reader.Commit(st.commit); err != nil {
			t.Fatal(err)
		}
		var want []string
		for first := st.wantFirst; first <= 10; first++ {
			want = append(want, segmentName(first))
		}
		if got := segmentFiles(t, dir); !slices.Equal(got, want) {
			t.Fatalf("after %s commits %d: segments %v, want %v", st.reader.Name(), st.commit, got, want)
		}
		if stats := s.Stats(); stats.FirstSeq != st.wantFirst || stats.Segments != len(want) {
			t.Fatalf("after %s commits %d: Stats %+v, want FirstSeq %d", st.reader.Name(), st.commit, stats, st.wantFirst)
		}
	}

	// A consumer seen for the first time starts at the oldest retained record.
	c := mustReader(t, s, "late")
	if recs := drain(t, c); !slices.Equal(seqs(recs), []uint64{10}) {
		t.Fatalf("new consumer read %v, want [10]", seqs(recs))
	}
}

func TestRemoveConsumerReleasesSegments(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir, SegmentBytes: 64}, hooks{})
	fast, slow := mustReader(t, s, "fast"), mustReader(t, s, "retired")
	for range 3 {
		mustAppend(t, s, payload("x", 40))
	}
	drain(t, fast)
	fast.Commit(3)
	if err := s.RemoveConsumer("retired"); err == nil {
		t.Fatal("RemoveConsumer with an open Reader succeeded")
	}
	slow.Close()
	if err := s.RemoveConsumer("retired"); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); !slices.Equal(got, []string{segmentName(3)}) {
		t.Fatalf("segments = %v, want only the active one", got)
	}
	if _, err := os.Stat(dir + "/retired" + cursorSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("cursor file still there: %v", err)
	}
}

func TestMaxBytesReturnsErrFullUntilConsumed(t *testing.T) {
	dir := t.TempDir()
	s := openTest(t, Options{Dir: dir, SegmentBytes: 64, MaxBytes: 200}, hooks{})
	r := mustReader(t, s, "r")
	rec := payload("x", 40) // 48-byte frame, one per 56-byte segment
	var appended int
	for {
		_, err := s.Append(context.Background(), rec)
		if err != nil {
			if !errors.Is(err, ErrFull) || RetryAfter(err) != FullRetryAfter {
				t.Fatalf("Append over the limit = %v (RetryAfter %v), want ErrFull with %v",
					err, RetryAfter(err), FullRetryAfter)
			}
			break
		}
		if appended++; appended > 10 {
			t.Fatal("MaxBytes is not enforced")
		}
	}
	if st := s.Stats(); st.Bytes > 200 || st.LastSeq != uint64(appended) {
		t.Fatalf("Stats = %+v after %d appends; want Bytes <= 200", st, appended)
	}
	if _, err := s.Append(context.Background(), rec); !errors.Is(err, ErrFull) {
		t.Fatalf("second Append while full = %v, want ErrFull", err)
	}

	drain(t, r)
	if err := r.Commit(uint64(appended)); err != nil {
		t.Fatal(err)
	}
	if seq := mustAppend(t, s, rec)[0]; seq != uint64(appended)+1 {
		t.Fatalf("Append after consuming got seq %d, want %d", seq, appended+1)
	}
}

func TestCommitValidation(t *testing.T) {
	s := openTest(t, Options{}, hooks{})
	for range 5 {
		mustAppend(t, s, []byte("x"))
	}
	r := mustReader(t, s, "r")
	if _, err := r.Next(context.Background(), 3); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		seq     uint64
		wantErr string
	}{
		{4, "not read yet"},
		{2, ""},
		{2, ""}, // idempotent
		{1, "already committed"},
		{3, ""},
	}
	for _, tt := range tests {
		err := r.Commit(tt.seq)
		if tt.wantErr == "" && err != nil || tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
			t.Fatalf("Commit(%d) = %v, want error containing %q", tt.seq, err, tt.wantErr)
		}
	}
	if r.Committed() != 3 {
		t.Fatalf("Committed = %d, want 3", r.Committed())
	}
}

func TestReaderNames(t *testing.T) {
	s := openTest(t, Options{}, hooks{})
	tests := []struct {
		name string
		ok   bool
	}{
		{"clickhouse", true},
		{"crm_push-2", true},
		{"", false},
		{"../escape", false},
		{"has space", false},
		{strings.Repeat("x", 65), false},
	}
	for _, tt := range tests {
		r, err := s.Reader(tt.name)
		if (err == nil) != tt.ok {
			t.Fatalf("Reader(%q) error = %v, want ok=%v", tt.name, err, tt.ok)
		}
		if err == nil {
			r.Close()
		}
	}

	r := mustReader(t, s, "single")
	if _, err := s.Reader("single"); err == nil {
		t.Fatal("second open Reader for the same name succeeded")
	}
	r.Close()
	mustReader(t, s, "single")
}

func TestNextWaitsForDurableRecords(t *testing.T) {
	s := openTest(t, Options{}, hooks{})
	r := mustReader(t, s, "r")

	got := make(chan []Record)
	go func() {
		recs, err := r.Next(context.Background(), 10)
		if err != nil {
			t.Errorf("Next: %v", err)
		}
		got <- recs
	}()
	mustAppend(t, s, []byte("hello"))
	checkRecords(t, <-got, map[uint64][]byte{1: []byte("hello")})

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := r.Next(ctx, 10); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with nothing to read and a cancelled ctx = %v, want context.Canceled", err)
	}
}

// TestDiskReserveKeepsRoomForCursorCommits: on a file system about to fill
// up, appends fail with ErrFull while DiskReserve bytes are still free, so
// consumers can commit their cursors and the spool can free space.
func TestDiskReserveKeepsRoomForCursorCommits(t *testing.T) {
	dir := t.TempDir()
	const capacity = DiskReserve + 300 // a tiny file system: the reserve and 300 bytes
	used := func() int64 {
		var n int64
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && e.Name() != "LOCK" {
				n += fi.Size()
			}
		}
		return n
	}
	free := func(string) int64 { return capacity - used() }
	s := openTest(t, Options{Dir: dir, SegmentBytes: 64}, hooks{freeBytes: free})
	r := mustReader(t, s, "r")
	rec := payload("x", 40)
	appended := 0
	for {
		if _, err := s.Append(context.Background(), rec); err != nil {
			if !errors.Is(err, ErrFull) || RetryAfter(err) != FullRetryAfter {
				t.Fatalf("Append on a full file system = %v, want ErrFull with RetryAfter", err)
			}
			break
		}
		if appended++; appended > 20 {
			t.Fatal("the disk reserve is not enforced")
		}
	}
	if f := capacity - used(); f < DiskReserve {
		t.Fatalf("%d bytes left free, want at least the %d-byte reserve", f, DiskReserve)
	}
	drain(t, r)
	if err := r.Commit(uint64(appended)); err != nil {
		t.Fatalf("Commit on a nearly full file system: %v", err)
	}
	if seq := mustAppend(t, s, rec)[0]; seq != uint64(appended)+1 {
		t.Fatalf("Append after the commit freed space got seq %d, want %d", seq, appended+1)
	}
}
