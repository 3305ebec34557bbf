package recordings

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

func TestWriteQueuesOneJobPerRecording(t *testing.T) {
	later := t0.Add(3 * time.Minute)
	withURL := urlEvent("c-1", "https://rec.example.com/c-1.mp3")
	end := refEvent("zadarma", "in_1", "1715671265.2871034")
	end.EventKey = "NOTIFY_END"
	record := end
	record.EventKey, record.ReceivedAt = "NOTIFY_RECORD", later // same recording, announced again
	otherLeg := refEvent("mango", "entry-1", "rec-A")
	secondLeg := refEvent("mango", "entry-1", "rec-B")
	noRecording := call.Event{Provider: "zadarma", CallID: "in_2", EventKey: "NOTIFY_START", ReceivedAt: t0}
	recorded := refEvent("zadarma", "in_3", "already")

	tests := []struct {
		name    string
		batches [][]call.Event
		want    []string // provider/call/ref of the pending jobs, in key order
	}{
		{"url event", [][]call.Event{{withURL}}, []string{"test/c-1/https://rec.example.com/c-1.mp3"}},
		{"no recording", [][]call.Event{{noRecording}}, nil},
		{"duplicates in one batch", [][]call.Event{{end, record, end}}, []string{"zadarma/in_1/1715671265.2871034"}},
		{"redelivered batch", [][]call.Event{{end}, {end}, {record}}, []string{"zadarma/in_1/1715671265.2871034"}},
		{"two recordings of a call", [][]call.Event{{otherLeg, secondLeg}}, []string{"mango/entry-1/rec-A", "mango/entry-1/rec-B"}},
		{"call already recorded", [][]call.Event{{recorded}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newEnv(t, nil)
			env.catalog.rows[[2]string{"zadarma", "in_3"}] = warehouse.Recording{Provider: "zadarma", CallID: "in_3"}
			for _, b := range tt.batches {
				env.write(t, b...)
			}
			var got []string
			for _, j := range env.pending(t) {
				ref := j.Event.RecordingRef + j.Event.RecordingURL
				got = append(got, j.Event.Provider+"/"+j.Event.CallID+"/"+ref)
				if want := tt.batches[0][0].ReceivedAt.Add(DefaultDelay); !j.Due.Equal(want) || !j.NextAt.Equal(want) {
					t.Errorf("job %s due %v, next %v; want both %v (first announcement + delay)", j.key, j.Due, j.NextAt, want)
				}
				if j.Event.ClientPhone != "" {
					t.Errorf("job keeps the client phone %q; it must keep only what a Locator needs", j.Event.ClientPhone)
				}
			}
			if strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Errorf("jobs = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestWriteSkipsUndecodableRecords(t *testing.T) {
	env := newEnv(t, nil)
	recs := append([]spool.Record{{Seq: 7, Data: []byte("{not json")}}, records(t, urlEvent("c-1", "https://x.example/1"))...)
	if err := env.s.Write(context.Background(), recs); err != nil {
		t.Fatalf("Write: %v", err)
	}
	if n := len(env.pending(t)); n != 1 {
		t.Errorf("pending = %d, want 1", n)
	}
}

func TestWriteFailsWhileCatalogIsDown(t *testing.T) {
	env := newEnv(t, nil)
	env.catalog.setErr(errBoom)
	err := env.s.Write(context.Background(), records(t, urlEvent("c-1", "https://x.example/1")))
	if err == nil {
		t.Fatal("Write succeeded; want an error so the consumer retries the batch")
	}
	if n := len(env.pending(t)); n != 0 {
		t.Errorf("pending = %d, want 0", n)
	}
	env.catalog.setErr(nil)
	env.write(t, urlEvent("c-1", "https://x.example/1"))
	if n := len(env.pending(t)); n != 1 {
		t.Errorf("after retry pending = %d, want 1", n)
	}
}

func TestJobsSurviveRestart(t *testing.T) {
	env := newEnv(t, func(o *Options) { o.AllowedHosts = nil }) // every fetch refused: one dead job
	env.enqueue(t, urlEvent("c-1", "https://rec.example.com/1.mp3"), urlEvent("c-2", "https://rec.example.com/2.mp3"))
	env.clock.Set(t0.Add(DefaultDelay))
	jobs, _, err := env.s.jobs.due(env.clock.Now(), 1, nil)
	if err != nil || len(jobs) != 1 {
		t.Fatalf("due = %v, %v", jobs, err)
	}
	if err := env.s.attempt(context.Background(), jobs[0]); err != nil {
		t.Fatal(err)
	}
	before := env.pending(t)

	env.reopen(t)

	after := env.pending(t)
	if len(before) != 1 || len(after) != 1 || after[0].key != before[0].key || !after[0].NextAt.Equal(before[0].NextAt) {
		t.Errorf("pending before restart %+v, after %+v", before, after)
	}
	if d := env.dead(t); len(d) != 1 || d[0].Reason != ReasonRefused {
		t.Errorf("dead after restart = %+v, want one refused", d)
	}
	// A redelivery after the restart neither duplicates nor revives.
	env.write(t, urlEvent("c-1", "https://rec.example.com/1.mp3"), urlEvent("c-2", "https://rec.example.com/2.mp3"))
	if p, d := len(env.pending(t)), len(env.dead(t)); p != 1 || d != 1 {
		t.Errorf("after redelivery pending %d, dead %d; want 1, 1", p, d)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Options)
		want   string
	}{
		{"no dir", func(o *Options) { o.Dir = "" }, "dir is required"},
		{"no catalog", func(o *Options) { o.Catalog = nil }, "catalog is required"},
		{"wildcard everything", func(o *Options) { o.AllowedHosts = map[string][]string{"generic": {"*"}} }, `host pattern "*"`},
		{"wildcard tld", func(o *Options) { o.AllowedHosts = map[string][]string{"generic": {"*.com"}} }, `host pattern "*.com"`},
		{"url instead of host", func(o *Options) { o.AllowedHosts = map[string][]string{"generic": {"https://x.example"}} }, "want a host name"},
		{"negative timeout", func(o *Options) { o.Timeout = -time.Second }, "timeout -1s must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := Options{Dir: t.TempDir(), Catalog: newFakeCatalog()}
			tt.modify(&opts)
			_, err := New(opts)
			if !errorContains(err, tt.want) {
				t.Errorf("New: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestJobStoreIsExclusive(t *testing.T) {
	env := newEnv(t, nil)
	_, err := openJobs(filepath.Join(env.opts.Dir, "jobs.db"), time.Millisecond)
	if !errorContains(err, "locked by another process") {
		t.Errorf("second open: %v, want locked", err)
	}
}

// TestWriteSkipsURLsThatCouldNeverBeFetched: a URL whose scheme or host the
// provider's recording_hosts do not allow is not queued (it could only
// become a dead job, one per call), and is counted; references and URLs of
// providers with a Locator are queued as before.
func TestWriteSkipsURLsThatCouldNeverBeFetched(t *testing.T) {
	reg := prometheus.NewRegistry()
	env := newEnv(t, func(o *Options) {
		o.Metrics = NewMetrics(reg)
		o.Locators = map[string]Locator{"zadarma": DirectLocator{}}
	})
	located := urlEvent("c-4", "https://anywhere.example.net/4.mp3")
	located.Provider = "zadarma"
	env.write(t,
		urlEvent("c-1", "https://rec.example.com/1.mp3"),
		urlEvent("c-2", "https://evil.example.org/2.mp3"),
		urlEvent("c-3", "ftp://rec.example.com/3.mp3"),
		located,
		refEvent("zadarma", "in_5", "1715671265.2871034"),
	)
	var got []string
	for _, j := range env.pending(t) {
		got = append(got, j.Event.CallID)
	}
	slices.Sort(got)
	if want := []string{"c-1", "c-4", "in_5"}; !slices.Equal(got, want) {
		t.Errorf("queued %v, want %v", got, want)
	}
	if n := testutil.ToFloat64(env.s.metrics.skipped); n != 2 {
		t.Errorf("callpulse_recordings_skipped_total = %v, want 2", n)
	}
}
