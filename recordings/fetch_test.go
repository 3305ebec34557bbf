package recordings

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// mp3 is the start of an MP3 file with an ID3v2 tag, as net/http sniffs it.
var mp3 = append([]byte("ID3\x04\x00\x00\x00\x00\x00\x00"), bytes.Repeat([]byte{0xff, 0xfb, 0x90, 0x64}, 64)...)

func TestFetchOutcomes(t *testing.T) {
	wav := readFile(t, "tone.wav")
	html := readFile(t, "error.html")
	status := func(code int, header ...string) http.HandlerFunc {
		return func(w http.ResponseWriter, _ *http.Request) {
			for i := 0; i+1 < len(header); i += 2 {
				w.Header().Set(header[i], header[i+1])
			}
			w.WriteHeader(code)
		}
	}
	const maxBytes = 1000
	tests := []struct {
		name       string
		handler    http.HandlerFunc
		kind       outcomeKind
		reason     string
		ctype      string        // stored content type
		retryAfter time.Duration // the server's Retry-After
	}{
		{"mp3", serveBytes("audio/mpeg", mp3), outcomeStored, "", "audio/mpeg", 0},
		{"wav with parameters", serveBytes("audio/x-wav; codec=1", wav[:maxBytes]), outcomeStored, "", "audio/x-wav", 0},
		{"octet-stream sniffed as mp3", serveBytes("application/octet-stream", mp3), outcomeStored, "", "audio/mpeg", 0},
		{"octet-stream not recognised", serveBytes("application/octet-stream", []byte{0, 1, 2, 3}), outcomeStored, "", "application/octet-stream", 0},
		{"no content type, wav bytes", serveBytes("", wav[:maxBytes]), outcomeStored, "", "audio/wave", 0},
		{"exactly the size limit", serveBytes("audio/mpeg", bytes.Repeat([]byte{0xff}, maxBytes)), outcomeStored, "", "audio/mpeg", 0},
		{"html page", serveBytes("text/html; charset=utf-8", html), outcomeDead, ReasonContentType, "", 0},
		{"json error", serveBytes("application/json", []byte(`{"status":"error"}`)), outcomeDead, ReasonContentType, "", 0},
		{"no content type, html bytes", serveBytes("", html), outcomeDead, ReasonContentType, "", 0},
		{"content length too large", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "audio/mpeg")
			w.Header().Set("Content-Length", strconv.Itoa(maxBytes+1))
			_, _ = w.Write(bytes.Repeat([]byte{0xff}, maxBytes+1))
		}, outcomeDead, ReasonTooLarge, "", 0},
		{"streamed too large", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "audio/mpeg")
			for range 4 { // chunked: no Content-Length
				_, _ = w.Write(bytes.Repeat([]byte{0xff}, maxBytes/3))
				w.(http.Flusher).Flush()
			}
		}, outcomeDead, ReasonTooLarge, "", 0},
		{"empty body", serveBytes("audio/mpeg", nil), outcomeRetry, retryNotReady, "", 0},
		{"404", status(http.StatusNotFound), outcomeRetry, retryNotReady, "", 0},
		{"425", status(http.StatusTooEarly), outcomeRetry, retryNotReady, "", 0},
		{"204", status(http.StatusNoContent), outcomeRetry, retryNotReady, "", 0},
		{"500", status(http.StatusInternalServerError), outcomeRetry, retryTransient, "", 0},
		{"503 retry after", status(http.StatusServiceUnavailable, "Retry-After", "120"), outcomeRetry, retryTransient, "", 2 * time.Minute},
		{"429 retry after date", status(http.StatusTooManyRequests, "Retry-After", t0.Add(DefaultDelay+time.Hour).Format(http.TimeFormat)),
			outcomeRetry, retryTransient, "", time.Hour},
		{"401", status(http.StatusUnauthorized), outcomeDead, ReasonHTTPStatus, "", 0},
		{"403", status(http.StatusForbidden), outcomeDead, ReasonHTTPStatus, "", 0},
		{"410", status(http.StatusGone), outcomeDead, ReasonHTTPStatus, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newServer(t, tt.handler)
			env := newEnv(t, func(o *Options) { o.MaxBytes = maxBytes })
			o := env.fetchOnce(t, urlEvent("c-1", srv.URL+"/rec/c-1?token=SECRET"))
			if o.kind != tt.kind || o.reason != tt.reason || o.retryAfter != tt.retryAfter {
				t.Fatalf("outcome = kind %d reason %q retry-after %v (err %v); want kind %d reason %q retry-after %v",
					o.kind, o.reason, o.retryAfter, o.err, tt.kind, tt.reason, tt.retryAfter)
			}
			files := env.blobFiles(t)
			pending, dead := env.pending(t), env.dead(t)
			switch tt.kind {
			case outcomeStored:
				rec, found, _ := env.catalog.Recording(context.Background(), testProvider, "c-1")
				if !found || rec.ContentType != tt.ctype {
					t.Fatalf("catalog row = %+v, %v; want content type %s", rec, found, tt.ctype)
				}
				want := filepath.Join(rec.SHA256[:2], rec.SHA256+extension(tt.ctype))
				if len(files) != 1 || files[0] != want {
					t.Errorf("blob files = %v, want [%s]", files, want)
				}
				body, _ := os.ReadFile(filepath.Join(env.opts.Dir, "blobs", want))
				if sum := sha256.Sum256(body); hex.EncodeToString(sum[:]) != rec.SHA256 || uint64(len(body)) != rec.Bytes {
					t.Errorf("stored file does not match its row %+v", rec)
				}
				if len(pending)+len(dead) != 0 {
					t.Errorf("job left behind: pending %v, dead %v", pending, dead)
				}
			case outcomeRetry:
				if len(files) != 0 || len(pending) != 1 || len(dead) != 0 {
					t.Fatalf("files %v, pending %d, dead %d; want none, 1, 0", files, len(pending), len(dead))
				}
				if j := pending[0]; j.Attempts != 1 || !j.NextAt.After(env.clock.Now()) || j.LastError == "" {
					t.Errorf("rescheduled job = %+v", j)
				}
			case outcomeDead:
				if len(files) != 0 || len(pending) != 0 || len(dead) != 1 || dead[0].Reason != tt.reason {
					t.Fatalf("files %v, pending %d, dead %+v; want none, 0, one %s", files, len(pending), dead, tt.reason)
				}
				if bytes.Contains([]byte(dead[0].Error), []byte("SECRET")) {
					t.Errorf("dead job error %q carries the URL's token", dead[0].Error)
				}
			}
		})
	}
}

// TestSlowServer: a server that never answers (or stops sending) costs one
// attempt of Options.Timeout and is retried, not marked dead.
func TestSlowServer(t *testing.T) {
	tests := []struct {
		name    string
		handler func(release <-chan struct{}) http.HandlerFunc
	}{
		{"no response headers", func(release <-chan struct{}) http.HandlerFunc {
			return func(http.ResponseWriter, *http.Request) { <-release }
		}},
		{"body stalls", func(release <-chan struct{}) http.HandlerFunc {
			return func(w http.ResponseWriter, _ *http.Request) {
				w.Header().Set("Content-Type", "audio/mpeg")
				_, _ = w.Write(mp3)
				w.(http.Flusher).Flush()
				<-release
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := newServer(t, tt.handler(release))
			t.Cleanup(func() { close(release) }) // runs before srv.Close
			env := newEnv(t, func(o *Options) { o.Timeout = 50 * time.Millisecond })
			o := env.fetchOnce(t, urlEvent("c-1", srv.URL+"/slow.mp3"))
			if o.kind != outcomeRetry || o.reason != retryTransient {
				t.Fatalf("outcome = %d %q (%v), want a transient retry", o.kind, o.reason, o.err)
			}
			if p := env.pending(t); len(p) != 1 || p[0].Attempts != 1 {
				t.Errorf("pending = %+v, want the job rescheduled", p)
			}
			if files := env.blobFiles(t); len(files) != 0 {
				t.Errorf("files left behind: %v", files)
			}
		})
	}
}

// TestGiveUp: a recording that never appears is retried with growing
// delays, attempted one last time at due + GiveUpAfter, then dead.
func TestGiveUp(t *testing.T) {
	srv := newServer(t, func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNotFound) })
	env := newEnv(t, func(o *Options) { o.GiveUpAfter = time.Hour })
	env.write(t, urlEvent("c-1", srv.URL+"/never.mp3"))
	due := t0.Add(DefaultDelay)
	deadline := due.Add(time.Hour)
	next := due
	var gaps []time.Duration
	for attempt := 1; attempt < 100; attempt++ {
		env.clock.Set(next)
		o := env.runDue(t)
		if len(o) != 1 {
			t.Fatalf("attempt %d: %d attempts ran", attempt, len(o))
		}
		p := env.pending(t)
		if len(p) == 0 {
			if !next.Equal(deadline) {
				t.Errorf("gave up at %v, want the last attempt at the deadline %v", next, deadline)
			}
			break
		}
		gaps = append(gaps, p[0].NextAt.Sub(next))
		next = p[0].NextAt
	}
	d := env.dead(t)
	if len(d) != 1 || d[0].Reason != ReasonGaveUp || d[0].Attempts != srv.count() {
		t.Fatalf("dead = %+v after %d requests; want one gave_up", d, srv.count())
	}
	for i, g := range gaps[:len(gaps)-1] { // the last gap is cut short by the deadline
		if ceiling := env.opts.Retry.Base << i; g < min(ceiling, env.opts.Retry.Max)/2 || g > env.opts.Retry.Max {
			t.Errorf("gap %d = %v, want backoff within [%v, %v]", i, g, min(ceiling, env.opts.Retry.Max)/2, env.opts.Retry.Max)
		}
	}
}

func TestLocators(t *testing.T) {
	srv := newServer(t, serveBytes("audio/mpeg", mp3))
	cases := []struct {
		name    string
		locator Locator // registered for provider "pbx"; nil registers none
		kind    outcomeKind
		reason  string
	}{
		{"locator request", stubLocator{url: srv.URL}, outcomeStored, ""},
		{"not ready", stubLocator{err: fmt.Errorf("pbx says 3320: %w", ErrNotReady)}, outcomeRetry, retryNotReady},
		{"permanent", stubLocator{err: fmt.Errorf("pbx rejects the key: %w", ErrPermanent)}, outcomeDead, ReasonLocator},
		{"other error", stubLocator{err: errBoom}, outcomeRetry, retryTransient},
		{"no locator for a ref", nil, outcomeDead, ReasonLocator},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			env := newEnv(t, func(o *Options) {
				o.AllowedHosts["pbx"], o.AllowPrivate = []string{"127.0.0.1"}, []string{"pbx"}
				if tc.locator != nil {
					o.Locators = map[string]Locator{"pbx": tc.locator}
				}
			})
			o := env.fetchOnce(t, refEvent("pbx", "entry-1", "rec-1"))
			if o.kind != tc.kind || o.reason != tc.reason {
				t.Errorf("outcome = %d %q (%v), want %d %q", o.kind, o.reason, o.err, tc.kind, tc.reason)
			}
		})
	}
}

func TestFetchSkipsCallsRecordedMeanwhile(t *testing.T) {
	srv := newServer(t, serveBytes("audio/mpeg", mp3))
	env := newEnv(t, nil)
	env.write(t, urlEvent("c-1", srv.URL+"/a.mp3"), urlEvent("c-1", srv.URL+"/b.mp3"))
	env.clock.Set(t0.Add(DefaultDelay))
	out := env.runDue(t)
	if len(out) != 2 || out[0].kind != outcomeStored || out[1].kind != outcomeSkipped {
		t.Fatalf("outcomes = %+v, want stored then skipped", out)
	}
	if srv.count() != 1 || len(env.pending(t)) != 0 {
		t.Errorf("requests %d, pending %d; want 1, 0", srv.count(), len(env.pending(t)))
	}
}

func TestFetchRetriesWhileCatalogIsDown(t *testing.T) {
	srv := newServer(t, serveBytes("audio/mpeg", mp3))
	env := newEnv(t, nil)
	env.write(t, urlEvent("c-1", srv.URL+"/a.mp3"))
	env.catalog.setErr(errBoom)
	env.clock.Set(t0.Add(DefaultDelay))
	if o := env.runDue(t); len(o) != 1 || o[0].kind != outcomeRetry || o[0].reason != retryTransient {
		t.Fatalf("outcome = %+v, want a transient retry", o)
	}
	env.catalog.setErr(nil)
	env.clock.Set(env.pending(t)[0].NextAt)
	if o := env.runDue(t); len(o) != 1 || o[0].kind != outcomeStored {
		t.Fatalf("outcome = %+v, want stored", o)
	}
}
