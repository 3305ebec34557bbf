package spool

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// crashDirEnv selects the child mode of the test binary (TestMain) and
// names the spool.
const crashDirEnv = "SPOOL_CRASH_CHILD_DIR"

// TestCrashRecovery runs a child process that appends concurrently and
// reports every acknowledged record on stdout, SIGKILLs it at a random
// moment, and checks after each kill that the reopened spool holds every
// acknowledged record with its exact payload, in contiguous sequence order,
// with nothing torn. Ten cycles share one directory, so every reopen also
// recovers from the previous kill.
func TestCrashRecovery(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, seed))
	dir := t.TempDir()
	acked := map[uint64]string{} // seq -> payload hash, over all cycles

	for cycle := range 10 {
		stopAfter := 1 + rng.IntN(400)
		n, stderr := runAndKillChild(t, dir, stopAfter, acked)
		if n < stopAfter {
			t.Fatalf("cycle %d: child acknowledged %d records, then exited:\n%s", cycle, n, stderr)
		}

		s := openTest(t, Options{Dir: dir}, hooks{})
		r := mustReader(t, s, "verify")
		recs := drain(t, r) // fails on any torn or corrupt record
		for i, rec := range recs {
			if rec.Seq != uint64(i)+1 {
				t.Fatalf("cycle %d: record %d has seq %d: not contiguous", cycle, i, rec.Seq)
			}
			if want, ok := acked[rec.Seq]; ok && want != hashHex(rec.Data) {
				t.Fatalf("cycle %d: record %d payload does not match the acknowledged one", cycle, rec.Seq)
			}
		}
		for seq := range acked {
			if seq > uint64(len(recs)) {
				t.Fatalf("cycle %d: acknowledged record %d lost; spool ends at %d", cycle, seq, len(recs))
			}
		}
		t.Logf("cycle %d: killed after %d acks; %d records durable, %d acknowledged in total",
			cycle, n, len(recs), len(acked))
		r.Close()
		s.Close()
	}
}

// runAndKillChild starts the child on dir, reads stopAfter acknowledgements,
// SIGKILLs it, and collects every acknowledgement it printed into acked. It
// returns how many it read and the child's stderr.
func runAndKillChild(t *testing.T, dir string, stopAfter int, acked map[uint64]string) (int, string) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	n := 0
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "ack ") {
			continue // test framework output
		}
		var seq uint64
		var hash string
		if _, err := fmt.Sscanf(line, "ack %d %s", &seq, &hash); err != nil {
			t.Fatalf("child printed %q: %v", line, err)
		}
		if _, dup := acked[seq]; dup {
			t.Fatalf("seq %d acknowledged twice", seq)
		}
		acked[seq] = hash
		// Keep reading after the kill: what was printed was acknowledged.
		if n++; n == stopAfter {
			cmd.Process.Kill()
		}
	}
	cmd.Wait()
	return n, stderr.String()
}

// TestMain runs the test binary as TestCrashRecovery's child when
// crashDirEnv is set, else the tests.
func TestMain(m *testing.M) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashChild(dir)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// crashChild is the child process of TestCrashRecovery. It appends
// from several goroutines until killed and prints "ack <seq> <sha256>" for
// each record only after Append returned it.
func crashChild(dir string) {
	s, err := Open(Options{Dir: dir, SegmentBytes: 256 << 10})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child Open:", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 100_000 { // bounded in case the parent never kills us
				batch := make([][]byte, 1+rand.IntN(3))
				for i := range batch {
					size := rand.IntN(4 << 10)
					if rand.IntN(20) == 0 {
						size = 100 << 10 // big frames make torn writes likelier
					}
					batch[i] = make([]byte, size)
					for j := range batch[i] {
						batch[i][j] = byte(rand.Uint32())
					}
				}
				last, err := s.Append(context.Background(), batch...)
				if err != nil {
					fmt.Fprintln(os.Stderr, "append:", err)
					os.Exit(2)
				}
				var lines strings.Builder
				for i, p := range batch {
					seq := last - uint64(len(batch)-1-i)
					lines.WriteString("ack " + strconv.FormatUint(seq, 10) + " " + hashHex(p) + "\n")
				}
				mu.Lock()
				_, err = os.Stdout.WriteString(lines.String())
				mu.Unlock()
				if err != nil {
					os.Exit(3) // parent gone
				}
			}
		})
	}
	wg.Wait()
}

func hashHex(p []byte) string {
	sum := sha256.Sum256(p)
	return hex.EncodeToString(sum[:8])
}
