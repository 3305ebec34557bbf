package zadarma

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/callpulse/callpulse/call"
)

// apiEmulator serves GET /v1/pbx/record/request/ as spec §1.6 describes. It
// checks the Authorization header against signatures computed independently
// of this package (Python hmac/hashlib; the first is the spec's vector) and
// answers from testdata/api.
type apiEmulator struct {
	t *testing.T
	// auth is the exact Authorization expected for each raw query.
	auth map[string]string
	// reply is the status and fixture answered per call_id.
	reply map[string]apiReply

	mu   sync.Mutex
	seen []string // Authorization headers received
}

type apiReply struct {
	code int
	file string
}

func newAPIEmulator(t *testing.T) *httptest.Server {
	const q = "&format=json&lifetime=3600"
	e := &apiEmulator{t: t,
		auth: map[string]string{
			"call_id=1715671265.2871034" + q: testAPIKey + ":N2I4ODc2ZTU0Y2FmNjA5NWI5YTkwOTdlNWUwMTllYzQ5MDFhYTQzYw==",
			"call_id=1715671999.0000001" + q: testAPIKey + ":Yzk5MzU2ODk1Y2JjZmY0OTQyZjFlNDcxM2YxOGVjZDRlYzkzOTMzNA==",
			"call_id=bogus.1" + q:            testAPIKey + ":MjcxOTJlZDY5MmE5YTViOTZlMzlhNWI4YTA2MjBmZjYzOWFmZTBkOA==",
			"call_id=1715672000.5000002" + q: testAPIKey + ":NTgzYzY3YmQxZWNiYmRmNWNiZmEzYmY4ZTVlMTVkNTM4OTcwNDc1NA==",
		},
		reply: map[string]apiReply{
			"1715671265.2871034": {http.StatusOK, "success_link.json"},
			"1715671999.0000001": {http.StatusOK, "error_not_found.json"}, // ended seconds ago
			"1715672000.5000002": {http.StatusServiceUnavailable, "unavailable.html"},
		},
	}
	srv := httptest.NewServer(e)
	t.Cleanup(srv.Close)
	return srv
}

func (e *apiEmulator) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	e.seen = append(e.seen, r.Header.Get("Authorization"))
	e.mu.Unlock()
	if r.Method != http.MethodGet || r.URL.Path != "/v1/pbx/record/request/" {
		e.answer(w, http.StatusNotFound, "error_wrong_call_id.json")
		return
	}
	want, known := e.auth[r.URL.RawQuery]
	if !known || r.Header.Get("Authorization") != want {
		e.answer(w, http.StatusUnauthorized, "error_not_authorized.json")
		return
	}
	q := r.URL.Query()
	if lt, err := strconv.Atoi(q.Get("lifetime")); err != nil || lt < 180 || lt > 5184000 || q.Get("format") != "json" {
		e.answer(w, http.StatusBadRequest, "error_wrong_call_id.json")
		return
	}
	reply, ok := e.reply[q.Get("call_id")]
	if !ok {
		reply = apiReply{http.StatusBadRequest, "error_wrong_call_id.json"}
	}
	e.answer(w, reply.code, reply.file)
}

func (e *apiEmulator) answer(w http.ResponseWriter, code int, file string) {
	b, err := os.ReadFile(filepath.Join("testdata", "api", file))
	if err != nil {
		e.t.Error(err)
	}
	if strings.HasSuffix(file, ".json") {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(code)
	_, _ = w.Write(b)
}

type ctxKey struct{}

func recordingEvent(ref string) call.Event {
	return call.Event{Provider: Name, CallID: "in_4b0a5e8c3f0d2a7e9b1c6d5f4e3a2b1c0d9e8f7a", RecordingRef: ref}
}

func TestLocate(t *testing.T) {
	srv := newAPIEmulator(t)
	withAPI := func(url, secret string) func(*Options) {
		return func(o *Options) { o.APIURL, o.Secret = url, secret }
	}
	tests := []struct {
		name     string
		opts     func(*Options)
		ref      string
		wantLink string
		notReady bool
		errHas   string
	}{
		{name: "ready", opts: withAPI(srv.URL, testSecret), ref: "1715671265.2871034",
			wantLink: "https://api.zadarma.com/v1/pbx/record/download/NzE1NjcxMjY1LjI4NzEwMzQ=/1/"},
		{name: "api url with trailing slash", opts: withAPI(srv.URL+"/", testSecret), ref: "1715671265.2871034",
			wantLink: "https://api.zadarma.com/v1/pbx/record/download/NzE1NjcxMjY1LjI4NzEwMzQ=/1/"},
		{name: "not saved yet", opts: withAPI(srv.URL, testSecret), ref: "1715671999.0000001",
			notReady: true, errHas: "Record not found"},
		{name: "unknown call id", opts: withAPI(srv.URL, testSecret), ref: "bogus.1",
			errHas: "HTTP 400: Wrong parameter: call_id"},
		{name: "api unavailable", opts: withAPI(srv.URL, testSecret), ref: "1715672000.5000002",
			notReady: true, errHas: "HTTP 503"},
		{name: "wrong secret", opts: withAPI(srv.URL, "not-the-secret"), ref: "1715671265.2871034",
			errHas: "HTTP 401: Not authorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, tt.opts)
			ctx := context.WithValue(context.Background(), ctxKey{}, "marker")
			req, err := p.Locate(ctx, srv.Client(), recordingEvent(tt.ref))
			if tt.wantLink != "" {
				if err != nil {
					t.Fatalf("Locate: %v", err)
				}
				if req.Method != http.MethodGet || req.URL.String() != tt.wantLink {
					t.Errorf("got %s %s, want GET %s", req.Method, req.URL, tt.wantLink)
				}
				if req.Header.Get("Authorization") != "" {
					t.Error("download request carries the API credentials")
				}
				if req.Context().Value(ctxKey{}) != "marker" {
					t.Error("download request is not bound to ctx")
				}
				return
			}
			if err == nil {
				t.Fatalf("Locate succeeded, want an error")
			}
			if errors.Is(err, ErrNotReady) != tt.notReady {
				t.Errorf("errors.Is(err, ErrNotReady) = %v, want %v (err: %v)", !tt.notReady, tt.notReady, err)
			}
			if !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("error %q does not contain %q", err, tt.errHas)
			}
			if strings.Contains(err.Error(), testSecret) {
				t.Errorf("error leaks the secret: %v", err)
			}
		})
	}
}

func TestLocateRefusesWithoutRequesting(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { requests.Add(1) }))
	defer srv.Close()
	noKey := newProvider(t, func(o *Options) { o.APIURL, o.APIKey = srv.URL, "" })
	if _, err := noKey.Locate(context.Background(), srv.Client(), recordingEvent("1715671265.2871034")); !errors.Is(err, ErrNoAPIKey) {
		t.Errorf("without API key: err = %v, want ErrNoAPIKey", err)
	}
	p := newProvider(t, func(o *Options) { o.APIURL = srv.URL })
	if _, err := p.Locate(context.Background(), srv.Client(), recordingEvent("")); err == nil {
		t.Error("event without recording ref: no error")
	}
	other := recordingEvent("x")
	other.Provider = "mango"
	if _, err := p.Locate(context.Background(), srv.Client(), other); err == nil {
		t.Error("event of another provider: no error")
	}
	if n := requests.Load(); n != 0 {
		t.Errorf("%d API requests made, want none", n)
	}
}

func TestLocateCancelled(t *testing.T) {
	srv := newAPIEmulator(t)
	p := newProvider(t, func(o *Options) { o.APIURL = srv.URL })
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := p.Locate(ctx, srv.Client(), recordingEvent("1715671265.2871034"))
	if !errors.Is(err, context.Canceled) || errors.Is(err, ErrNotReady) {
		t.Errorf("err = %v, want context.Canceled and not ErrNotReady", err)
	}
}

func TestParseRecordResponse(t *testing.T) {
	const link = "https://api.zadarma.com/v1/pbx/record/download/NzE1NjcxMjY1LjI4NzEwMzQ=/1/"
	tests := []struct {
		file     string
		code     int
		link     string
		notReady bool
	}{
		{"success_link.json", 200, link, false},
		{"success_links.json", 200, link, false},
		{"success_without_link.json", 200, "", false},
		{"error_not_found.json", 200, "", true},
		{"error_not_found.json", 404, "", true},
		{"error_wrong_call_id.json", 400, "", false},
		{"error_not_authorized.json", 401, "", false},
		{"success_link.json", 500, "", true}, // HTTP status wins over the body
		{"unavailable.html", 502, "", true},
		{"unavailable.html", 200, "", false},
		{"error_wrong_call_id.json", 429, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.file+" "+strconv.Itoa(tt.code), func(t *testing.T) {
			body, err := os.ReadFile(filepath.Join("testdata", "api", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			got, err := parseRecordResponse(tt.code, body)
			if got != tt.link || (err == nil) != (tt.link != "") {
				t.Errorf("got %q, %v; want %q", got, err, tt.link)
			}
			if errors.Is(err, ErrNotReady) != tt.notReady {
				t.Errorf("ErrNotReady = %v, want %v (err: %v)", !tt.notReady, tt.notReady, err)
			}
		})
	}
}
