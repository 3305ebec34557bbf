package simulate

import (
	"bytes"
	"context"
	"log/slog"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
)

var (
	moscow = time.FixedZone("MSK", 3*60*60)
	// testStart is a Friday at five in the afternoon, Moscow time.
	testStart = time.Date(2026, 11, 20, 17, 0, 0, 0, moscow)
)

// testRun is a simulation against a fake callpulse on a fake clock.
type testRun struct {
	opts  Options
	clock *fakeClock
	fake  *fakeCallpulse
}

// newTestRun prepares a run of calls calls with a working day of backfill,
// with the options changed by each of change.
func newTestRun(t *testing.T, calls int, change ...func(*Options)) *testRun {
	t.Helper()
	clock := &fakeClock{now: testStart}
	managers := []string{"101", "102", "103", "104", "105"}
	o := Options{
		Token:    "s3cret",
		Seed:     7,
		Managers: managers,
		Lines:    []string{"+74951112233", "+74951112244", "+74951112255"},
		Clients:  Clients(7, 300, managers),
		Rate:     2,
		Backfill: 8 * time.Hour,
		Calls:    calls,
		Location: moscow,
		Now:      clock.Now,
		Sleep:    clock.Sleep,
		Logger:   slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn})),
	}
	for _, c := range change {
		c(&o)
	}
	fake := newFakeCallpulse(t, o, clock)
	o.URL = fake.start()
	return &testRun{opts: o, clock: clock, fake: fake}
}

func (r *testRun) run(t *testing.T, ctx context.Context) Stats {
	t.Helper()
	stats, err := Run(ctx, r.opts)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return stats
}

func TestRun(t *testing.T) {
	const calls = 800
	tr := newTestRun(t, calls)
	stats := tr.run(t, t.Context())
	res := tr.fake.result()
	final := res.final(t)

	t.Run("every call ends with a final snapshot", func(t *testing.T) {
		if stats.Calls != calls || len(final) != calls || len(res.calls) != calls {
			t.Errorf("stats.Calls = %d, calls with a final snapshot = %d of %d seen, want %d",
				stats.Calls, len(final), len(res.calls), calls)
		}
		for id := range final {
			if !strings.HasPrefix(id, "sim7-20261120T140000-") {
				t.Fatalf("call id %q lacks the run prefix", id)
			}
		}
	})

	t.Run("stats agree with what callpulse accepted", func(t *testing.T) {
		var posts int
		for _, n := range res.accepted {
			posts += n
		}
		want := Stats{
			Calls: calls, Callbacks: stats.Callbacks, OutOfOrder: stats.OutOfOrder,
			Snapshots: int64(res.snapshots), Posts: int64(posts), Duplicates: stats.Duplicates,
		}
		if stats != want {
			t.Errorf("stats = %v\nwant    %v", stats, want)
		}
	})

	t.Run("some posts are sent twice", func(t *testing.T) {
		var dups int64
		for _, n := range res.accepted {
			dups += int64(n - 1)
		}
		if dups == 0 || dups != stats.Duplicates {
			t.Errorf("callpulse got %d repeated bodies, stats.Duplicates = %d; want equal and > 0", dups, stats.Duplicates)
		}
		if frac := float64(dups) / float64(stats.Posts); frac > 0.1 {
			t.Errorf("%.1f%% of posts are duplicates, want about 5%%", 100*frac)
		}
	})

	t.Run("some calls arrive out of order", func(t *testing.T) {
		var reversed int64
		for _, ss := range res.calls {
			// Count the first delivery of each snapshot: a batch with both
			// snapshots of a call, posted twice, is not out of order.
			var firsts []seen
			for _, s := range ss {
				if !slices.Contains(firsts, s) {
					firsts = append(firsts, s)
				}
			}
			if len(firsts) > 1 && firsts[0].final() {
				reversed++
			}
		}
		if reversed == 0 || reversed != stats.OutOfOrder {
			t.Errorf("%d calls arrived final snapshot first, stats.OutOfOrder = %d; want equal and > 0", reversed, stats.OutOfOrder)
		}
	})

	t.Run("answered calls are reported in progress first", func(t *testing.T) {
		for id, f := range final {
			inProgress := slices.ContainsFunc(res.calls[id], func(s seen) bool { return !s.final() })
			if answered := f.Status == call.StatusAnswered; answered != inProgress {
				t.Errorf("call %s (%s): snapshot in progress = %t", id, f.Status, inProgress)
			}
		}
	})

	t.Run("backfill is batched", func(t *testing.T) {
		if res.shapes[true] == 0 || res.shapes[false] == 0 {
			t.Errorf("accepted %d arrays and %d single objects, want both", res.shapes[true], res.shapes[false])
		}
	})

	t.Run("traffic mix", func(t *testing.T) {
		checkTrafficMix(t, tr.opts, stats, final)
	})
}

func TestRunHonoursRetryAfter(t *testing.T) {
	tr := newTestRun(t, 30)
	tr.fake.respond = func(n int) (int, string) {
		if n == 3 || n == 4 {
			return 503, "7"
		}
		return 202, ""
	}
	stats := tr.run(t, t.Context())
	res := tr.fake.result()

	if stats.Retried != 2 || stats.Dropped != 0 || stats.Rejected != 0 {
		t.Errorf("stats = %v, want 2 retried, none dropped or rejected", stats)
	}
	retryAfters := 0
	for _, d := range tr.clock.sleeps() {
		if d == 7*time.Second {
			retryAfters++
		}
	}
	if retryAfters != 2 {
		t.Errorf("slept for Retry-After 7 s %d times, want 2", retryAfters)
	}
	if len(res.refused) == 0 {
		t.Fatal("no post was refused")
	}
	for body := range res.refused {
		if res.accepted[body] == 0 {
			t.Errorf("refused post never accepted on retry: %s", body)
		}
	}
	if final := res.final(t); len(final) != 30 {
		t.Errorf("%d calls arrived, want 30", len(final))
	}
}

func TestRunCountsRejectedPosts(t *testing.T) {
	tr := newTestRun(t, 30, func(o *Options) {
		o.Logger = slog.New(slog.DiscardHandler) // the rejection is logged at error on purpose
	})
	tr.fake.respond = func(n int) (int, string) {
		if n == 2 {
			return 400, ""
		}
		return 202, ""
	}
	stats := tr.run(t, t.Context())
	res := tr.fake.result()
	if stats.Rejected != 1 || stats.Retried != 0 || stats.Calls != 30 {
		t.Errorf("stats = %v, want 30 calls, 1 rejected, none retried", stats)
	}
	if int64(res.requests) != stats.Posts+stats.Rejected {
		t.Errorf("callpulse got %d requests, stats say %d accepted + %d rejected", res.requests, stats.Posts, stats.Rejected)
	}
}

func TestRunStopsWhenCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	tr := newTestRun(t, 0) // no limit: only cancellation ends the run
	tr.fake.respond = func(n int) (int, string) {
		if n == 50 {
			cancel()
		}
		return 202, ""
	}
	stats := tr.run(t, ctx)
	if stats.Calls == 0 || stats.Posts < 49 {
		t.Errorf("stats = %v, want the calls and posts made before cancellation", stats)
	}
	if got := tr.fake.result().requests; got != 50 {
		t.Errorf("%d requests, want none after the one that cancelled", got)
	}
}

func TestRunDeterministic(t *testing.T) {
	a, b := newTestRun(t, 200), newTestRun(t, 200)
	a.run(t, t.Context())
	b.run(t, t.Context())
	ra, rb := a.fake.result(), b.fake.result()
	if !reflect.DeepEqual(ra.calls, rb.calls) {
		t.Error("two runs with the same seed and clock delivered different snapshots")
	}
	if !slices.Equal(slices.Sorted(maps.Keys(ra.accepted)), slices.Sorted(maps.Keys(rb.accepted))) {
		t.Error("two runs with the same seed and clock posted different bodies")
	}
}

func TestRunWithoutClients(t *testing.T) {
	tr := newTestRun(t, 50, func(o *Options) { o.Clients = nil })
	stats := tr.run(t, t.Context())
	if final := tr.fake.result().final(t); len(final) != 50 || stats.Calls != 50 {
		t.Errorf("%d calls arrived, stats.Calls = %d, want 50", len(final), stats.Calls)
	}
}

var phoneRE = regexp.MustCompile(`\+?7\d{10}`)

func TestRunNeverLogsPhones(t *testing.T) {
	var logs bytes.Buffer
	tr := newTestRun(t, 300, func(o *Options) {
		o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	tr.fake.respond = func(n int) (int, string) {
		if n%40 == 0 {
			return 503, "1" // exercise the retry logging too
		}
		return 202, ""
	}
	tr.run(t, t.Context())
	if !strings.Contains(logs.String(), "simulation stopped") {
		t.Fatalf("nothing logged:\n%s", logs.String())
	}
	if p := phoneRE.FindString(logs.String()); p != "" {
		t.Errorf("logs contain the phone number %s", p)
	}
}

func TestRunInvalidOptions(t *testing.T) {
	valid := Options{URL: "http://127.0.0.1:1", Token: "t", Managers: []string{"101"}, Lines: []string{"+74951112233"}}
	for _, tc := range []struct {
		name   string
		change func(*Options)
	}{
		{"no URL", func(o *Options) { o.URL = "" }},
		{"relative URL", func(o *Options) { o.URL = "/webhooks" }},
		{"ftp URL", func(o *Options) { o.URL = "ftp://pbx.example" }},
		{"no token", func(o *Options) { o.Token = "" }},
		{"no managers", func(o *Options) { o.Managers = nil }},
		{"no lines", func(o *Options) { o.Lines = nil }},
		{"negative rate", func(o *Options) { o.Rate = -1 }},
		{"negative backfill", func(o *Options) { o.Backfill = -time.Hour }},
		{"negative calls", func(o *Options) { o.Calls = -1 }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := valid
			tc.change(&o)
			if _, err := Run(t.Context(), o); err == nil {
				t.Error("Run accepted invalid options")
			}
		})
	}
}
