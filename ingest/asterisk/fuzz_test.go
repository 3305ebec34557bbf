package asterisk

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParse feeds arbitrary frames to the decoder and mapper: Parse must not
// panic, errors must wrap ErrInvalidEvent and come without events, and every
// event must be well formed.
func FuzzParse(f *testing.F) {
	for _, name := range append(fixtures, "spec_fixtures") {
		for _, fr := range frames(f, name) {
			f.Add(fr)
		}
	}
	for _, seed := range []string{
		``, `{}`, `null`, `[]`, `{"type":"Dial"}`,
		`{"type":"RecordingFinished","timestamp":"2024-05-14T10:23:26.880+0300","recording":{"name":"r","target_uri":"bridge:"}}`,
		`{"type":"ChannelDestroyed","timestamp":"2024-05-14T10:21:05+03:00","channel":{"id":"1","name":"Local/1@x-1;1","channelvars":{"CHANNEL(linkedid)":"\u0007"}}}`,
	} {
		f.Add([]byte(seed))
	}
	s := newSource(f, testOptions(f))
	f.Fuzz(func(t *testing.T, frame []byte) {
		events, err := s.Parse(frame, received)
		if err != nil {
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("error %v does not wrap ErrInvalidEvent", err)
			}
			if events != nil {
				t.Fatalf("events returned with error %v", err)
			}
			return
		}
		for _, e := range events {
			switch {
			case e.Provider != Name:
				t.Fatalf("provider %q", e.Provider)
			case e.CallID == "" || len(e.CallID) > maxIDLen || !utf8.ValidString(e.CallID):
				t.Fatalf("bad call id %q", e.CallID)
			case e.EventKey == "":
				t.Fatal("empty event key")
			case !e.ReceivedAt.Equal(received):
				t.Fatalf("received_at %v", e.ReceivedAt)
			case e.ClientPhone != "" && !strings.HasPrefix(e.ClientPhone, "+"),
				e.LinePhone != "" && !strings.HasPrefix(e.LinePhone, "+"):
				t.Fatalf("phones not E.164: %q %q", e.ClientPhone, e.LinePhone)
			case e.ManagerRank > 2 || e.Status > 5 || e.Direction > 2:
				t.Fatalf("out-of-range enum in %+v", e)
			}
			if _, err := e.Marshal(); err != nil {
				t.Fatalf("event does not encode: %v", err)
			}
		}
	})
}
