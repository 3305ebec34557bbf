package recordings

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestHandler(t *testing.T) {
	wav := readFile(t, "tone.wav")
	srv := newServer(t, serveBytes("audio/wav", wav))
	env := newEnv(t, nil)
	for _, id := range []string{"c-1", "MzI0NjQ5/NjQ0MjoxMDE="} { // Mango entry ids are base64, "/" included
		if o := env.fetchOnce(t, urlEvent(id, srv.URL+"/rec.wav")); o.kind != outcomeStored {
			t.Fatalf("fetch %s: %d %q (%v)", id, o.kind, o.reason, o.err)
		}
	}
	stored := env.catalog.rows[[2]string{testProvider, "c-1"}]
	gone := stored // a row whose file is not there
	gone.CallID, gone.SHA256 = "gone", strings.Repeat("0", 64)
	env.catalog.rows[[2]string{testProvider, "gone"}] = gone
	h := env.s.Handler()

	tests := []struct {
		name   string
		path   string
		header map[string]string
		status int
		body   []byte
		ctype  string
	}{
		{"whole file", "/api/v1/recordings/test/c-1", nil, http.StatusOK, wav, "audio/wav"},
		{"range", "/api/v1/recordings/test/c-1", map[string]string{"Range": "bytes=0-43"}, http.StatusPartialContent, wav[:44], "audio/wav"},
		{"etag matches", "/api/v1/recordings/test/c-1", map[string]string{"If-None-Match": `"` + stored.SHA256 + `"`}, http.StatusNotModified, nil, ""},
		{"call id with slash", "/api/v1/recordings/test/MzI0NjQ5/NjQ0MjoxMDE=", nil, http.StatusOK, wav, "audio/wav"},
		{"call id with escaped slash", "/api/v1/recordings/test/MzI0NjQ5%2FNjQ0MjoxMDE=", nil, http.StatusOK, wav, "audio/wav"},
		{"unknown call", "/api/v1/recordings/test/c-2", nil, http.StatusNotFound, nil, "application/json"},
		{"unknown provider", "/api/v1/recordings/zadarma/c-1", nil, http.StatusNotFound, nil, "application/json"},
		{"no call id", "/api/v1/recordings/test/", nil, http.StatusNotFound, nil, ""},
		{"file missing", "/api/v1/recordings/test/gone", nil, http.StatusInternalServerError, nil, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (%s)", w.Code, tt.status, w.Body)
			}
			if tt.body != nil && !bytes.Equal(w.Body.Bytes(), tt.body) {
				t.Errorf("body: %d bytes, want %d", w.Body.Len(), len(tt.body))
			}
			if tt.ctype != "" && w.Header().Get("Content-Type") != tt.ctype {
				t.Errorf("Content-Type = %q, want %q", w.Header().Get("Content-Type"), tt.ctype)
			}
			if tt.status == http.StatusOK && !strings.Contains(w.Header().Get("Content-Disposition"), ".wav") {
				t.Errorf("Content-Disposition = %q", w.Header().Get("Content-Disposition"))
			}
		})
	}

	env.catalog.setErr(errBoom)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v1/recordings/test/c-1", nil))
	if w.Code != http.StatusServiceUnavailable || strings.Contains(w.Body.String(), "boom") {
		t.Errorf("catalog down: %d %s, want 503 without the internal error", w.Code, w.Body)
	}
}

// TestHandlerOutlivesTheServersWriteTimeout serves a recording from a
// server whose WriteTimeout has always run out by the time a handler
// writes: the handler's own deadline, sized for the file, must apply.
func TestHandlerOutlivesTheServersWriteTimeout(t *testing.T) {
	wav := readFile(t, "tone.wav")
	src := newServer(t, serveBytes("audio/wav", wav))
	env := newEnv(t, nil)
	if o := env.fetchOnce(t, urlEvent("c-1", src.URL+"/rec.wav")); o.kind != outcomeStored {
		t.Fatalf("fetch: %d %q (%v)", o.kind, o.reason, o.err)
	}
	srv := httptest.NewUnstartedServer(env.s.Handler())
	srv.Config.WriteTimeout = time.Nanosecond
	srv.Start()
	t.Cleanup(srv.Close)
	resp, err := srv.Client().Get(srv.URL + "/api/v1/recordings/test/c-1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK || !bytes.Equal(body, wav) {
		t.Fatalf("got %d, %d of %d bytes, err %v", resp.StatusCode, len(body), len(wav), err)
	}
}

func TestServeTime(t *testing.T) {
	for _, tt := range []struct {
		size int64
		want time.Duration
	}{
		{0, time.Minute},
		{serveMinRate - 1, time.Minute},
		{100 << 20, time.Minute + 3200*time.Second}, // 100 MiB at 32 KiB/s
	} {
		if got := serveTime(tt.size); got != tt.want {
			t.Errorf("serveTime(%d) = %s, want %s", tt.size, got, tt.want)
		}
	}
}

func TestMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			w.WriteHeader(http.StatusNotFound)
		case "/html":
			serveBytes("text/html", []byte("<html>"))(w, r)
		default:
			serveBytes("audio/mpeg", mp3)(w, r)
		}
	})
	env := newEnv(t, func(o *Options) { o.Metrics = NewMetrics(reg) })
	for i, path := range []string{"/404", "/html", "/ok"} {
		env.fetchOnce(t, urlEvent(string(rune('a'+i)), srv.URL+path))
	}
	m := env.s.metrics
	checks := []struct {
		name string
		c    prometheus.Collector
		want float64
	}{
		{"fetched", m.fetched, 1},
		{"bytes", m.bytes, float64(len(mp3))},
		{"failed content_type", m.failed.WithLabelValues(ReasonContentType), 1},
		{"failed refused", m.failed.WithLabelValues(ReasonRefused), 0},
		{"retries not_ready", m.retries.WithLabelValues(retryNotReady), 1},
		{"pending", m.pending, 1},
		{"dead", m.dead, 1},
	}
	for _, c := range checks {
		if got := testutil.ToFloat64(c.c); got != c.want {
			t.Errorf("%s = %v, want %v", c.name, got, c.want)
		}
	}
	if n := testutil.CollectAndCount(m.duration); n != 1 {
		t.Errorf("duration histogram series = %d", n)
	}
	problems, err := testutil.GatherAndLint(reg)
	if err != nil || len(problems) > 0 {
		t.Errorf("metric lint: %v %v", problems, err)
	}
}
