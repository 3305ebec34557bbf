package loadgen

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/callpulse/callpulse/ingest/generic"
	"github.com/callpulse/callpulse/phone"
)

func TestPercentile(t *testing.T) {
	var hundred []time.Duration
	for i := 1; i <= 100; i++ {
		hundred = append(hundred, time.Duration(i))
	}
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{[]time.Duration{7}, 50, 7},
		{[]time.Duration{7}, 100, 7},
		{hundred, 50, 50},
		{hundred, 99, 99},
		{hundred, 99.9, 100},
		{hundred, 100, 100},
		{hundred, 0.5, 1},
		{[]time.Duration{1, 2, 3, 4}, 50, 2}, // nearest rank: ceil(0.5*4) = 2nd
		{[]time.Duration{1, 2, 3, 4}, 51, 3},
	}
	for _, tt := range tests {
		if got := Percentile(tt.sorted, tt.p); got != tt.want {
			t.Errorf("Percentile(%d values, %v) = %v, want %v", len(tt.sorted), tt.p, got, tt.want)
		}
	}
}

// recorder is a test server that counts requests, fails every 7th with 503
// and remembers each call id it saw.
type recorder struct {
	n, failed atomic.Int64
	mu        sync.Mutex
	ids       map[string]bool
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	var snap struct {
		CallID string `json:"call_id"`
	}
	if err := json.Unmarshal(body, &snap); err != nil || r.Header.Get("Authorization") != "Bearer tok" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rec.mu.Lock()
	rec.ids[snap.CallID] = true
	rec.mu.Unlock()
	if rec.n.Add(1)%7 == 0 {
		rec.failed.Add(1)
		w.WriteHeader(http.StatusServiceUnavailable)
	}
}

func newTarget(t *testing.T) (*Target, *recorder) {
	rec := &recorder{ids: map[string]bool{}}
	srv := httptest.NewServer(rec)
	t.Cleanup(srv.Close)
	h := http.Header{"Authorization": {"Bearer tok"}, "Content-Type": {"application/json"}}
	return &Target{URL: srv.URL, Header: h, Body: CallSnapshot("t")}, rec
}

// checkCounts asserts that every request is accounted for exactly once, on
// both sides.
func checkCounts(t *testing.T, res *Result, rec *recorder) {
	t.Helper()
	if res.OK+res.Non2xx+res.Failed != res.Sent {
		t.Errorf("ok %d + non-2xx %d + failed %d != sent %d", res.OK, res.Non2xx, res.Failed, res.Sent)
	}
	if res.Failed != 0 || rec.n.Load() != res.Sent {
		t.Errorf("server saw %d requests, client sent %d (%d transport errors: %s)", rec.n.Load(), res.Sent, res.Failed, res.FirstErr)
	}
	if res.Non2xx != rec.failed.Load() {
		t.Errorf("client counted %d non-2xx, server answered %d with 503", res.Non2xx, rec.failed.Load())
	}
	if int64(len(rec.ids)) != rec.n.Load() {
		t.Errorf("%d distinct call ids in %d requests", len(rec.ids), rec.n.Load())
	}
	if int64(len(res.Latencies)) != res.OK+res.Non2xx || !slices.IsSorted(res.Latencies) {
		t.Errorf("%d latencies (sorted: %v) for %d responses", len(res.Latencies), slices.IsSorted(res.Latencies), res.OK+res.Non2xx)
	}
}

func TestFixedCountsAddUp(t *testing.T) {
	tgt, rec := newTarget(t)
	res := Fixed(context.Background(), tgt, Options{Duration: 200 * time.Millisecond, Rate: 1000, Workers: 8})
	if res.Sent+res.Unsent != 200 {
		t.Errorf("sent %d + unsent %d, want the 200 scheduled", res.Sent, res.Unsent)
	}
	checkCounts(t, res, rec)
}

func TestSaturateCountsAddUp(t *testing.T) {
	tgt, rec := newTarget(t)
	res := Saturate(context.Background(), tgt, Options{Duration: 50 * time.Millisecond, Workers: 4})
	if res.Sent == 0 || res.Unsent != 0 {
		t.Errorf("sent %d, unsent %d", res.Sent, res.Unsent)
	}
	checkCounts(t, res, rec)
}

func TestCancelStopsFixed(t *testing.T) {
	tgt, rec := newTarget(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res := Fixed(ctx, tgt, Options{Duration: time.Hour, Rate: 1000, Workers: 2})
	if res.Sent != 0 || rec.n.Load() != 0 {
		t.Errorf("cancelled run sent %d requests", res.Sent)
	}
}

// The bench's traffic must be what the daemon accepts, or it measures 400s.
func TestCallSnapshotIsAValidGenericWebhook(t *testing.T) {
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	p, err := generic.New("tok", norm)
	if err != nil {
		t.Fatal(err)
	}
	body := CallSnapshot("bench")
	for _, i := range []uint64{0, 42, 9_999_999, 123_456_789_012} {
		b := body(nil, i)
		if len(b) < 300 || len(b) > 400 {
			t.Errorf("request %d: %d bytes, want about 350", i, len(b))
		}
		req := httptest.NewRequest(http.MethodPost, "/webhooks/generic", strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer tok")
		req.Header.Set("Content-Type", "application/json")
		parsed, err := p.Parse(req, b, time.Now())
		if err != nil {
			t.Fatalf("request %d rejected: %v\n%s", i, err, b)
		}
		events := parsed.Events
		if len(events) != 1 || !strings.HasSuffix(events[0].CallID, "-"+strconv.FormatUint(i, 10)) {
			t.Errorf("request %d: events %+v", i, events)
		}
	}
}

// Done hears of every request once, by index, with the status the server
// answered; requests to a closed server end with an error.
func TestDoneReportsEachRequest(t *testing.T) {
	tgt, rec := newTarget(t)
	var mu sync.Mutex
	status := map[uint64]int{}
	tgt.Done = func(i uint64, resp *http.Response, err error) {
		mu.Lock()
		defer mu.Unlock()
		if _, dup := status[i]; dup {
			t.Errorf("request %d reported twice", i)
		}
		switch {
		case err != nil:
			status[i] = -1
		default:
			status[i] = resp.StatusCode
		}
	}
	res := Fixed(context.Background(), tgt, Options{Duration: 100 * time.Millisecond, Rate: 1000, Workers: 4})
	var ok, unavailable int64
	for i := range uint64(res.Sent) {
		switch status[i] {
		case http.StatusOK:
			ok++
		case http.StatusServiceUnavailable:
			unavailable++
		default:
			t.Errorf("request %d: status %d", i, status[i])
		}
	}
	if int64(len(status)) != res.Sent || ok != res.OK || unavailable != rec.failed.Load() {
		t.Errorf("reported %d requests (%d ok, %d 503), result sent %d ok %d, server failed %d",
			len(status), ok, unavailable, res.Sent, res.OK, rec.failed.Load())
	}

	closed := &Target{URL: "http://127.0.0.1:1/", Body: CallSnapshot("c"), Done: func(i uint64, resp *http.Response, err error) {
		if resp != nil || err == nil {
			t.Errorf("request %d to a closed port: response %v, error %v", i, resp, err)
		}
	}}
	if res := Saturate(context.Background(), closed, Options{Duration: 10 * time.Millisecond, Workers: 1}); res.Failed != res.Sent {
		t.Errorf("closed port: %d failed of %d sent", res.Failed, res.Sent)
	}
}
