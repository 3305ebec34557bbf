package mango

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
	"github.com/callpulse/callpulse/ingest/providertest"
)

// FuzzParse feeds Parse a path and a payload. With sign set, the payload is
// the json field of a correctly signed form, so the fuzzer explores the
// decoders; otherwise it is the raw body, exercising form parsing and
// authentication. Parse must not panic and must return either a 4xx
// *ingest.Error or well-formed events.
func FuzzParse(f *testing.F) {
	for _, name := range fixtureNames(f) {
		path, payload := fixture(f, name)
		f.Add(path, []byte(payload), true)
	}
	bad, _ := filepath.Glob(filepath.Join("testdata", "bad", "*.json"))
	for i, file := range bad {
		b, _ := os.ReadFile(file)
		paths := []string{fixturePaths["summary"], fixturePaths["call"], fixturePaths["recording"]}
		f.Add(paths[i%len(paths)], b, true)
	}
	if b, err := os.ReadFile(filepath.Join("testdata", "spec_summary.form")); err == nil {
		f.Add(fixturePaths["summary"], b, false)
	}
	f.Add("/webhooks/mango/ping", []byte(""), false)

	p := newProvider(f)
	f.Fuzz(func(t *testing.T, path string, payload []byte, sign bool) {
		r := providertest.Request{Path: "/", Body: payload}
		if sign {
			r = signed("/", string(payload))
		}
		req := r.HTTP()
		req.URL.Path = path // any path, even one no client could send
		parsed, err := p.Parse(req, r.Body, received)
		if err != nil {
			var ie *ingest.Error
			if !errors.As(err, &ie) || ie.Status < 400 || ie.Status > 499 {
				t.Fatalf("error is not a 4xx *ingest.Error: %v", err)
			}
			if len(parsed.Events) != 0 {
				t.Fatal("events returned with an error")
			}
			return
		}
		for _, e := range parsed.Events {
			checkEvent(t, e)
		}
	})
}

// checkEvent asserts what every event of this adapter satisfies.
func checkEvent(t *testing.T, e call.Event) {
	t.Helper()
	switch {
	case e.Provider != Name || e.CallID == "" || len(e.CallID) > maxIDLen || e.EventKey == "":
		t.Fatalf("bad identity: %+v", e)
	case !e.ReceivedAt.Equal(received):
		t.Fatalf("ReceivedAt %v, want %v", e.ReceivedAt, received)
	case !e.AnsweredAt.IsZero() && e.Status != call.StatusAnswered:
		t.Fatalf("answered at %v with status %v", e.AnsweredAt, e.Status)
	case e.Status == call.StatusMissed && e.Direction != call.DirectionInbound:
		t.Fatalf("missed %v call", e.Direction)
	case !e.EndedAt.IsZero() && !e.StartedAt.IsZero() && e.EndedAt.Before(e.StartedAt):
		t.Fatalf("ended before it started: %+v", e)
	case !e.AnsweredAt.IsZero() && !e.StartedAt.IsZero() && e.AnsweredAt.Before(e.StartedAt):
		t.Fatalf("answered before it started: %+v", e)
	case e.Manager == "" && e.ManagerRank != 0, len(e.Manager) > maxExtensionLen:
		t.Fatalf("bad manager: %+v", e)
	}
	for _, ph := range []string{e.ClientPhone, e.LinePhone} {
		if ph != "" && (ph[0] != '+' || strings.IndexFunc(ph[1:], func(r rune) bool { return !unicode.IsDigit(r) }) >= 0) {
			t.Fatalf("phone %q is not E.164", ph)
		}
	}
	for _, ts := range []struct {
		name string
		unix int64
		zero bool
	}{{"started", e.StartedAt.Unix(), e.StartedAt.IsZero()}, {"answered", e.AnsweredAt.Unix(), e.AnsweredAt.IsZero()}, {"ended", e.EndedAt.Unix(), e.EndedAt.IsZero()}} {
		if !ts.zero && (ts.unix < minUnix || ts.unix >= maxUnix) {
			t.Fatalf("%s at %d is out of range", ts.name, ts.unix)
		}
	}
}
