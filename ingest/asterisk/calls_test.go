package asterisk

import (
	"encoding/json"
	"errors"
	"flag"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/call"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json")

// TestParseGolden maps each fixture and compares the partial events with
// its golden file. spec_fixtures holds the three events of spec §4.2
// verbatim: they carry no linkedid, so the answered leg is a call of its
// own (see the README).
func TestParseGolden(t *testing.T) {
	for _, name := range append(fixtures, "spec_fixtures") {
		t.Run(name, func(t *testing.T) {
			got := parseAll(t, newSource(t, testOptions(t)), frames(t, name))
			path := filepath.Join("testdata", name+".golden.json")
			if *update {
				b, err := json.MarshalIndent(got, "", "  ")
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var want []call.Event
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				gb, _ := json.MarshalIndent(got, "", "  ")
				t.Errorf("events differ from %s (run with -update to accept):\n%s", path, gb)
			}
		})
	}
}

// TestFixturesFold checks the folded calls, with the default direction rule
// and with explicit contexts, which must agree on these fixtures.
func TestFixturesFold(t *testing.T) {
	tests := []struct {
		name    string
		options func(*Options)
	}{
		{"default rule", func(*Options) {}},
		{"contexts", func(o *Options) {
			o.InboundContexts = []string{"from-trunk"}
			o.OutboundContexts = []string{"from-internal"}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			tt.options(&opts)
			got := foldCalls(parseAll(t, newSource(t, opts), allFrames(t)))
			if !reflect.DeepEqual(got, wantCalls) {
				t.Errorf("calls:\n got %+v\nwant %+v", got, wantCalls)
			}
		})
	}
}

// TestTripleShuffledDelivery delivers every event three times in random
// order, each to a fresh source (no index learnt in order).
func TestTripleShuffledDelivery(t *testing.T) {
	all := allFrames(t)
	for seed := range uint64(5) {
		var frames [][]byte
		for range 3 {
			frames = append(frames, all...)
		}
		rand.New(rand.NewPCG(seed, 7)).Shuffle(len(frames), func(i, j int) { frames[i], frames[j] = frames[j], frames[i] })
		got := foldCalls(parseAll(t, newSource(t, testOptions(t)), frames))
		if !reflect.DeepEqual(got, wantCalls) {
			t.Fatalf("seed %d: calls:\n got %+v\nwant %+v", seed, got, wantCalls)
		}
	}
}

func TestEventKeys(t *testing.T) {
	s := newSource(t, testOptions(t))
	seen := map[[2]string]int{}
	for i, f := range allFrames(t) {
		first, _ := s.Parse(f, received)
		again, _ := s.Parse(f, received.Add(3600e9))
		for j := range first {
			if first[j].EventKey != again[j].EventKey {
				t.Errorf("frame %d: re-delivery changed the key %q → %q", i, first[j].EventKey, again[j].EventKey)
			}
			k := [2]string{first[j].CallID, first[j].EventKey}
			if prev, dup := seen[k]; dup {
				t.Errorf("frames %d and %d of one call share the key %q", prev, i, k[1])
			}
			seen[k] = i
		}
	}
}

func TestParseRejects(t *testing.T) {
	const ok = `"channel":{"id":"1.1","name":"PJSIP/trunk-1","state":"Ring","caller":{"name":"","number":"79161234567"},"creationtime":"2024-05-14T10:21:05.101+0300"}`
	tests := []struct{ name, frame string }{
		{"not JSON", `{"type":`},
		{"not an object", `[1,2]`},
		{"no type", `{"timestamp":"2024-05-14T10:21:05.118+0300",` + ok + `}`},
		{"no timestamp", `{"type":"ChannelCreated",` + ok + `}`},
		{"timestamp without offset", `{"type":"ChannelCreated","timestamp":"2024-05-14T10:21:05.118",` + ok + `}`},
		{"no channel", `{"type":"ChannelDestroyed","timestamp":"2024-05-14T10:21:05.118+0300","cause":16}`},
		{"empty channel id", `{"type":"ChannelCreated","timestamp":"2024-05-14T10:21:05.118+0300","channel":{"id":"","caller":{"number":"79161234567"}}}`},
		{"control character in id", `{"type":"ChannelCreated","timestamp":"2024-05-14T10:21:05.118+0300","channel":{"id":"1\u0000","caller":{"number":"79161234567"}}}`},
		{"bad creationtime", `{"type":"ChannelCreated","timestamp":"2024-05-14T10:21:05.118+0300","channel":{"id":"1.1","caller":{"number":"79161234567"},"creationtime":"yesterday"}}`},
		{"cause is a string", `{"type":"ChannelDestroyed","timestamp":"2024-05-14T10:21:05.118+0300","cause":"16",` + ok + `}`},
		{"dial without peer", `{"type":"Dial","timestamp":"2024-05-14T10:21:05.118+0300","dialstatus":"ANSWER"}`},
		{"recording without name", `{"type":"RecordingFinished","timestamp":"2024-05-14T10:21:05.118+0300","recording":{"target_uri":"channel:1.1"}}`},
		{"bridge event without bridge", `{"type":"ChannelEnteredBridge","timestamp":"2024-05-14T10:21:05.118+0300",` + ok + `}`},
	}
	s := newSource(t, testOptions(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := s.Parse([]byte(tt.frame), received)
			if !errors.Is(err, ErrInvalidEvent) {
				t.Fatalf("err = %v, want ErrInvalidEvent", err)
			}
			if events != nil {
				t.Error("returned events with an error")
			}
			if strings.Contains(err.Error(), "9161234567") {
				t.Errorf("error leaks a phone number: %v", err)
			}
		})
	}
}

func TestParseIgnores(t *testing.T) {
	tests := []struct{ name, frame string }{
		{"unused type", `{"type":"ChannelDialplan","timestamp":"2024-05-14T10:21:05.118+0300","channel":{"id":"1.1"}}`},
		{"unknown type", `{"type":"SomethingNew"}`},
		{"other variable", `{"type":"ChannelVarset","timestamp":"2024-05-14T10:21:05.118+0300","variable":"BRIDGEPEER","value":"x","channel":{"id":"1.1"}}`},
		{"global variable", `{"type":"ChannelVarset","timestamp":"2024-05-14T10:21:05.118+0300","variable":"DIALSTATUS","value":"BUSY"}`},
		{"failed recording", `{"type":"RecordingFinished","timestamp":"2024-05-14T10:21:05.118+0300","recording":{"name":"r","state":"failed","target_uri":"channel:1.1"}}`},
		{"unknown bridge", `{"type":"RecordingFinished","timestamp":"2024-05-14T10:21:05.118+0300","recording":{"name":"r","state":"done","target_uri":"bridge:nope"}}`},
	}
	s := newSource(t, testOptions(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			events, err := s.Parse([]byte(tt.frame), received)
			if err != nil || len(events) != 0 {
				t.Fatalf("Parse = %v, %v; want nothing", events, err)
			}
		})
	}
}

// TestRecordingPlacement places recordings of a leg and of a bridge in the
// call learnt from earlier events.
func TestRecordingPlacement(t *testing.T) {
	s := newSource(t, testOptions(t))
	parseAll(t, s, frames(t, "inbound_answered")) // learns .43 and the bridge
	tests := []struct{ target, wantCall string }{
		{"bridge:b7f1c0de-0001", "1715671265.42"},
		{"channel:1715671265.43", "1715671265.42"},
		{"channel:1715679999.1", "1715679999.1"}, // unknown: its own id
	}
	for _, tt := range tests {
		t.Run(tt.target, func(t *testing.T) {
			frame := `{"type":"RecordingFinished","timestamp":"2024-05-14T10:23:26.880+0300","recording":{"name":"rec-1","format":"wav","state":"done","target_uri":"` + tt.target + `"}}`
			events, err := s.Parse([]byte(frame), received)
			if err != nil || len(events) != 1 {
				t.Fatalf("Parse = %v, %v; want one event", events, err)
			}
			if e := events[0]; e.CallID != tt.wantCall || e.RecordingRef != "rec-1" {
				t.Errorf("event = %+v, want call %s with recording rec-1", e, tt.wantCall)
			}
		})
	}
}
