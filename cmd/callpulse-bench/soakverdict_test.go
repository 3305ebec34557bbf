package main

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestSoakVerdict judges a soak that was measured (testdata/soak-30m.txt,
// printed by make soak) as it was, and with a leak or a bounded warm-up
// added to it.
func TestSoakVerdict(t *testing.T) {
	measured := readSoakTable(t, "testdata/soak-30m.txt")
	minutes := func(i int) float64 { return measured[i].at.Minutes() }
	tests := []struct {
		name string
		add  func(i int, s *procStats)
		flat bool
	}{
		{"as measured", func(int, *procStats) {}, true},
		{"heap leak of 1 MiB a minute", func(i int, s *procStats) {
			s.heapLive += minutes(i) * (1 << 20)
			s.anonKB += int64(minutes(i) * 1024)
		}, false},
		{"memory-mapped file growing 1 MiB a minute", func(i int, s *procStats) {
			s.fileKB += int64(minutes(i) * 1024)
		}, false},
		{"goroutine leak of one a minute", func(i int, s *procStats) {
			s.goroutines += minutes(i)
		}, false},
		{"file descriptor leak of one a minute", func(i int, s *procStats) {
			s.fds += int(minutes(i))
		}, false},
		{"cache filling to a 30 MiB cap in the first 5 minutes", func(i int, s *procStats) {
			s.heapLive += min(minutes(i)/5, 1) * 30 * (1 << 20)
			s.anonKB += int64(min(minutes(i)/5, 1) * 30 * 1024)
		}, true},
		{"in-flight batches on every other sample of the last quarter", func(i int, s *procStats) {
			if i >= 3*len(measured)/4 && i%2 == 0 {
				s.heapLive += 40 << 20
				s.anonKB += 80 << 10
				s.rssKB += 80 << 10
				s.goroutines += 70
				s.fds += 70
			}
		}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			samples := make([]procStats, len(measured))
			for i, s := range measured {
				tc.add(i, &s)
				samples[i] = s
			}
			if v := soakVerdict(samples); v.flat != tc.flat {
				t.Errorf("flat = %v, want %v:\n%s", v.flat, tc.flat, v)
			}
		})
	}
}

// readSoakTable reads the sample rows of a soak's table as make soak
// prints it: elapsed, RSS, anon, file, live, in-use, alloc, sys (MiB),
// goroutines and fds besides those of HTTP connections, HTTP connections,
// sent, errors, load.
func readSoakTable(t *testing.T, path string) []procStats {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []procStats
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) != 14 {
			continue
		}
		at, err := time.ParseDuration(fields[0])
		if err != nil {
			continue // the header
		}
		v := make([]float64, 10)
		for i := range v {
			if v[i], err = strconv.ParseFloat(fields[i+1], 64); err != nil {
				t.Fatalf("%s: %q: %v", path, sc.Text(), err)
			}
		}
		out = append(out, procStats{
			at:    at,
			rssKB: int64(v[0] * 1024), anonKB: int64(v[1] * 1024), fileKB: int64(v[2] * 1024),
			heapLive: v[3] * (1 << 20), heapInuse: v[4] * (1 << 20), heapAlloc: v[5] * (1 << 20), goSys: v[6] * (1 << 20),
			goroutines: v[7], fds: int(v[8] + v[9]), httpConns: int(v[9]),
		})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(out) < 8 {
		t.Fatalf("%s: %d samples, want at least 8", path, len(out))
	}
	return out
}
