package asterisk

import (
	"bufio"
	"bytes"
	"context"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/backoff"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/phone"
)

const (
	testApp      = "callpulse"
	testUser     = "callpulse"
	testPassword = "s3cr3t-ari-pw"
)

var received = time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)

// fixtures are the whole calls in testdata, one ARI event per line.
var fixtures = []string{"inbound_answered", "outbound_busy", "inbound_missed"}

// tinyBackoff keeps reconnects and retries fast in tests.
var tinyBackoff = backoff.Policy{Base: time.Microsecond, Max: 100 * time.Microsecond}

// failsafe only turns a hung test into a failure; no assertion depends on it.
const failsafe = time.Minute

func date(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// wantCalls are the calls the fixtures fold into.
var wantCalls = []call.Call{
	{
		Provider: Name, CallID: "1715671265.42", Direction: call.DirectionInbound,
		StartedAt:    date("2024-05-14T07:21:05.101Z"),
		AnsweredAt:   date("2024-05-14T07:21:14.562Z"),
		EndedAt:      date("2024-05-14T07:23:26.911Z"),
		ClientPhone:  "+79161234567",
		LinePhone:    "+74951234567",
		Manager:      "101",
		Status:       call.StatusAnswered,
		TalkSeconds:  132,
		RecordingRef: "calltrack-1715671265.42",
	},
	{
		Provider: Name, CallID: "1715672000.50", Direction: call.DirectionOutbound,
		StartedAt:   date("2024-05-14T08:00:00.250Z"),
		EndedAt:     date("2024-05-14T08:00:09.300Z"),
		ClientPhone: "+79031234567",
		Manager:     "102",
		Status:      call.StatusBusy,
	},
	{
		Provider: Name, CallID: "1715673000.60", Direction: call.DirectionInbound,
		StartedAt:   date("2024-05-14T09:30:00Z"),
		EndedAt:     date("2024-05-14T09:30:21.050Z"),
		ClientPhone: "+79265550011",
		LinePhone:   "+74951234567",
		Manager:     "103",
		Status:      call.StatusMissed,
	},
}

// discard is an Appender for tests that only parse.
type discard struct{}

func (discard) Append(context.Context, ...[]byte) (uint64, error) { return 0, nil }

func testOptions(t testing.TB) Options {
	t.Helper()
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	return Options{
		URL: "http://127.0.0.1:8088", App: testApp, User: testUser, Password: testPassword,
		Normalizer: norm, Appender: discard{}, Backoff: tinyBackoff,
		Logger: slog.New(slog.DiscardHandler),
	}
}

func newSource(t testing.TB, opts Options) *Source {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// frames reads a fixture: one ARI event per non-empty line.
func frames(t testing.TB, name string) [][]byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name+".jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(nil, MaxFrameBytes)
	for sc.Scan() {
		if line := bytes.TrimSpace(sc.Bytes()); len(line) > 0 {
			out = append(out, bytes.Clone(line))
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func allFrames(t testing.TB) [][]byte {
	var out [][]byte
	for _, name := range fixtures {
		out = append(out, frames(t, name)...)
	}
	return out
}

func parseAll(t testing.TB, s *Source, frames [][]byte) []call.Event {
	t.Helper()
	var out []call.Event
	for i, f := range frames {
		events, err := s.Parse(f, received)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		out = append(out, events...)
	}
	return out
}

// foldCalls groups events by call and folds them, ordered by call id.
func foldCalls(events []call.Event) []call.Call {
	byCall := map[string][]call.Event{}
	for _, e := range events {
		byCall[e.CallID] = append(byCall[e.CallID], e)
	}
	var calls []call.Call
	for _, evs := range byCall {
		calls = append(calls, call.Fold(evs))
	}
	slices.SortFunc(calls, func(a, b call.Call) int { return strings.Compare(a.CallID, b.CallID) })
	return calls
}

// logSink is a slog handler that keeps every record's text and can signal
// when a message containing a substring is logged.
type logSink struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	h       slog.Handler
	waiters map[string]chan struct{}
}

func newLogSink() *logSink {
	s := &logSink{waiters: map[string]chan struct{}{}}
	s.h = slog.NewTextHandler(&s.buf, &slog.HandlerOptions{Level: slog.LevelDebug})
	return s
}

func (s *logSink) logger() *slog.Logger { return slog.New(s) }

func (s *logSink) Enabled(context.Context, slog.Level) bool { return true }
func (s *logSink) WithAttrs(as []slog.Attr) slog.Handler {
	return &boundSink{s, as}
}
func (s *logSink) WithGroup(string) slog.Handler { return s }

func (s *logSink) Handle(ctx context.Context, r slog.Record) error { return s.handle(ctx, r, nil) }

func (s *logSink) handle(ctx context.Context, r slog.Record, attrs []slog.Attr) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	r.AddAttrs(attrs...)
	if err := s.h.Handle(ctx, r); err != nil {
		return err
	}
	for sub, ch := range s.waiters {
		if strings.Contains(r.Message, sub) {
			close(ch)
			delete(s.waiters, sub)
		}
	}
	return nil
}

// waitFor returns a channel closed when a message containing sub is logged
// (call it before the event can happen).
func (s *logSink) waitFor(sub string) <-chan struct{} {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := make(chan struct{})
	s.waiters[sub] = ch
	return ch
}

func (s *logSink) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

type boundSink struct {
	s     *logSink
	attrs []slog.Attr
}

func (b *boundSink) Enabled(context.Context, slog.Level) bool { return true }
func (b *boundSink) Handle(ctx context.Context, r slog.Record) error {
	return b.s.handle(ctx, r, b.attrs)
}
func (b *boundSink) WithAttrs(as []slog.Attr) slog.Handler {
	return &boundSink{b.s, append(slices.Clip(b.attrs), as...)}
}
func (b *boundSink) WithGroup(string) slog.Handler { return b }

// wait blocks until ch is closed or receives, failing only if the test hangs.
func wait[T any](t testing.TB, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(failsafe):
		t.Fatalf("hung waiting for %s", what)
	}
	var zero T
	return zero
}
