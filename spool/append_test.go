package spool

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"syscall"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

func TestConcurrentAppendsGetUniqueDurableSeqs(t *testing.T) {
	const writers, perWriter = 16, 40
	s := openTest(t, Options{SegmentBytes: 4 << 10}, hooks{})

	var (
		mu   sync.Mutex
		want = map[uint64][]byte{}
		wg   sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			for i := range perWriter {
				p := payload(fmt.Sprintf("w%d-%d", w, i), 1+rand.IntN(300))
				last, err := s.Append(context.Background(), p, p[:len(p)/2])
				if err != nil {
					t.Errorf("Append: %v", err)
					return
				}
				mu.Lock()
				for seq, data := range map[uint64][]byte{last - 1: p, last: p[:len(p)/2]} {
					if _, dup := want[seq]; dup {
						t.Errorf("seq %d returned twice", seq)
					}
					want[seq] = data
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if n := uint64(len(want)); s.Stats().LastSeq != n {
		t.Fatalf("LastSeq = %d after %d records", s.Stats().LastSeq, n)
	}
	// checkRecords also proves the seqs are exactly 1..n with their payloads.
	checkRecords(t, drain(t, mustReader(t, s, "check")), want)
}

func TestGroupCommitSharesOneWriteAndFsync(t *testing.T) {
	const queued = 20
	entered, release := make(chan struct{}), make(chan struct{})
	enqueued := make(chan struct{}, queued+1)
	blocked := false
	m := NewMetrics(prometheus.NewRegistry())
	s := openTest(t, Options{Metrics: m}, hooks{
		enqueued: func() { enqueued <- struct{}{} },
		beforeCommit: func() { // runs on the committer only
			if !blocked {
				blocked = true
				close(entered)
				<-release
			}
		},
	})

	results := make(chan uint64, queued+1)
	appendAsync := func(p string) {
		go func() {
			seq, err := s.Append(context.Background(), []byte(p))
			if err != nil {
				t.Errorf("Append: %v", err)
			}
			results <- seq
		}()
	}
	appendAsync("first")
	<-entered // the committer is holding batch [first]
	<-enqueued
	for i := range queued {
		appendAsync(fmt.Sprintf("queued-%d", i))
	}
	for range queued {
		<-enqueued
	}
	close(release)

	seen := map[uint64]bool{}
	for range queued + 1 {
		seen[<-results] = true
	}
	if len(seen) != queued+1 {
		t.Fatalf("got %d distinct seqs, want %d", len(seen), queued+1)
	}
	if got := counterValue(t, m.appendBatches); got != 2 {
		t.Fatalf("append batches = %v, want 2: the %d queued appends must share one write", got, queued)
	}
	if got := histogramCount(t, m.fsyncDuration); got != 2 {
		t.Fatalf("fsyncs = %d, want 2", got)
	}
	if got := counterValue(t, m.appendedRecords); got != queued+1 {
		t.Fatalf("appended records = %v, want %d", got, queued+1)
	}
}

func TestAppendCancelledWhileQueuedIsNotWritten(t *testing.T) {
	entered, release := make(chan struct{}), make(chan struct{})
	enqueued := make(chan struct{}, 2)
	blocked := false
	s := openTest(t, Options{}, hooks{
		enqueued: func() { enqueued <- struct{}{} },
		beforeCommit: func() {
			if !blocked {
				blocked = true
				close(entered)
				<-release
			}
		},
	})
	firstDone := make(chan error)
	go func() {
		_, err := s.Append(context.Background(), []byte("kept"))
		firstDone <- err
	}()
	<-entered
	<-enqueued

	ctx, cancel := context.WithCancel(context.Background())
	cancelledDone := make(chan error)
	go func() {
		_, err := s.Append(ctx, []byte("abandoned"))
		cancelledDone <- err
	}()
	<-enqueued
	cancel()
	if err := <-cancelledDone; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Append = %v, want context.Canceled", err)
	}
	close(release)
	if err := <-firstDone; err != nil {
		t.Fatal(err)
	}
	mustAppend(t, s, []byte("after"))
	checkRecords(t, drain(t, mustReader(t, s, "check")),
		map[uint64][]byte{1: []byte("kept"), 2: []byte("after")})
}

func TestFailedWriteRollsBack(t *testing.T) {
	tests := []struct {
		name       string
		write      error
		sync       error
		wantFull   bool
		wantReason string
	}{
		{name: "write EIO", write: syscall.EIO, wantReason: reasonIO},
		{name: "fsync EIO", sync: syscall.EIO, wantReason: reasonIO},
		{name: "write ENOSPC", write: syscall.ENOSPC, wantFull: true, wantReason: reasonFull},
		{name: "fsync EDQUOT", sync: syscall.EDQUOT, wantFull: true, wantReason: reasonFull},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			f := &faults{}
			m := NewMetrics(prometheus.NewRegistry())
			s := openTest(t, Options{Dir: dir, Metrics: m}, hooks{wrapFile: f.wrap})
			mustAppend(t, s, []byte("one"))
			sizeBefore := fileSize(t, lastSegmentPath(t, dir))

			f.arm(tt.write, tt.sync, nil)
			_, err := s.Append(context.Background(), []byte("lost-1"), []byte("lost-2"))
			if err == nil {
				t.Fatal("Append succeeded despite the injected fault")
			}
			if got := errors.Is(err, ErrFull); got != tt.wantFull {
				t.Fatalf("errors.Is(%v, ErrFull) = %v, want %v", err, got, tt.wantFull)
			}
			if tt.wantFull && RetryAfter(err) != FullRetryAfter {
				t.Fatalf("RetryAfter = %v, want %v", RetryAfter(err), FullRetryAfter)
			}
			if got := counterValue(t, m.appendErrors.WithLabelValues(tt.wantReason)); got != 1 {
				t.Fatalf("append errors{reason=%q} = %v, want 1", tt.wantReason, got)
			}
			if got := fileSize(t, lastSegmentPath(t, dir)); got != sizeBefore {
				t.Fatalf("segment size after failure = %d, want %d (rolled back)", got, sizeBefore)
			}
			if err := s.Healthy(); err != nil {
				t.Fatalf("Healthy after a rolled-back failure = %v", err)
			}
			if seq := mustAppend(t, s, []byte("two"))[0]; seq != 2 {
				t.Fatalf("seq after failure = %d, want 2 (failed records never existed)", seq)
			}
			s.Close()

			s = openTest(t, Options{Dir: dir}, hooks{})
			checkRecords(t, drain(t, mustReader(t, s, "check")),
				map[uint64][]byte{1: []byte("one"), 2: []byte("two")})
		})
	}
}

func TestFailedRollbackBreaksSpool(t *testing.T) {
	dir := t.TempDir()
	f := &faults{}
	s := openTest(t, Options{Dir: dir}, hooks{wrapFile: f.wrap})
	mustAppend(t, s, []byte("one"))

	f.arm(syscall.EIO, nil, syscall.EIO) // torn write, then the truncate fails too
	if _, err := s.Append(context.Background(), []byte("torn")); err == nil {
		t.Fatal("Append succeeded despite the injected fault")
	}
	if err := s.Healthy(); !errors.Is(err, ErrBroken) {
		t.Fatalf("Healthy = %v, want ErrBroken", err)
	}
	if _, err := s.Append(context.Background(), []byte("refused")); !errors.Is(err, ErrBroken) {
		t.Fatalf("Append on a broken spool = %v, want ErrBroken", err)
	}
	s.Close()

	// Reopening recovers: the torn bytes are dropped, appends work again.
	s = openTest(t, Options{Dir: dir}, hooks{})
	if err := s.Healthy(); err != nil {
		t.Fatalf("Healthy after reopen = %v", err)
	}
	mustAppend(t, s, []byte("two"))
	checkRecords(t, drain(t, mustReader(t, s, "check")),
		map[uint64][]byte{1: []byte("one"), 2: []byte("two")})
}
