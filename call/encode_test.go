package call

import (
	"bytes"
	"hash/fnv"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	json "github.com/goccy/go-json"
)

// sameAsMarshal fails t unless appendJSON writes what json.Marshal writes.
func sameAsMarshal(t *testing.T, e Event) {
	t.Helper()
	want, wantErr := json.Marshal(e)
	got, err := e.appendJSON(nil)
	if (err != nil) != (wantErr != nil) || !bytes.Equal(got, want) {
		t.Fatalf("%+v:\n appendJSON   %s, %v\n json.Marshal %s, %v", e, got, err, want, wantErr)
	}
	if e.plain() { // others need not survive a round trip: invalid UTF-8, offsets with seconds
		back, err := Unmarshal(got)
		if err != nil || !back.Equal(e) {
			t.Fatalf("round trip of %s: %+v, %v", got, back, err)
		}
	}
}

// Equal reports whether two events say the same, times compared as
// instants.
func (e Event) Equal(o Event) bool {
	for _, p := range [][2]*time.Time{{&e.ReceivedAt, &o.ReceivedAt}, {&e.StartedAt, &o.StartedAt},
		{&e.AnsweredAt, &o.AnsweredAt}, {&e.EndedAt, &o.EndedAt}} {
		if !p[0].Equal(*p[1]) {
			return false
		}
		*p[0], *p[1] = time.Time{}, time.Time{}
	}
	return e == o
}

// referenceDedupKey is DedupKey as first written: keys stored in
// ClickHouse must not change.
func referenceDedupKey(e Event) string {
	e.ReceivedAt = time.Time{}
	b, _ := json.Marshal(e)
	h := fnv.New64a()
	h.Write(b)
	return e.EventKey + "/" + strconv.FormatUint(h.Sum64(), 36)
}

func TestAppendJSONIsMarshal(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	strs := []string{"", "generic", "c-123456", "+79161234567", "101", "https://pbx.example/rec/c-1.mp3?a=1&b=2",
		"a\"b", `a\b`, "<tag>", "tab\there", "Иван", "\u2028", "\xff", "\x7f", "~!@#$%^*()_+{}|:?"}
	zones := []*time.Location{time.UTC, time.FixedZone("MSK", 3*3600), time.FixedZone("odd", 3*3600+30*60),
		time.FixedZone("seconds", 5*3600+17), time.FixedZone("west", -9*3600)}
	times := func() time.Time {
		switch rng.IntN(6) {
		case 0:
			return time.Time{}
		case 1:
			return time.Date(10000+rng.IntN(10), 1, 1, 0, 0, 0, 0, time.UTC) // json.Marshal refuses it
		}
		return time.Unix(rng.Int64N(4e9), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))])
	}
	str := func() string { return strs[rng.IntN(len(strs))] }
	for range 20_000 {
		e := Event{Provider: str(), CallID: str(), EventKey: str(), ReceivedAt: times(),
			Direction: Direction(rng.IntN(3)), StartedAt: times(), AnsweredAt: times(), EndedAt: times(),
			ArrivalEnd: rng.IntN(2) == 0, ClientPhone: str(), LinePhone: str(), Manager: str(),
			ManagerRank: uint8(rng.IntN(3)), Status: Status(rng.IntN(6)), TalkSeconds: uint32(rng.IntN(3)) * rng.Uint32(),
			RecordingURL: str(), RecordingRef: str()}
		sameAsMarshal(t, e)
		if got, want := e.DedupKey(), referenceDedupKey(e); got != want {
			t.Fatalf("%+v: DedupKey %s, as first written %s", e, got, want)
		}
	}
}

func FuzzAppendJSON(f *testing.F) {
	f.Add("generic", "c-1", "+79161234567", "101", "https://pbx.example/rec/c-1.mp3", int64(1763630100), int64(0), 10800, uint8(5))
	f.Fuzz(func(t *testing.T, provider, id, phone, manager, url string, sec, nsec int64, offset int, status uint8) {
		at := time.Unix(sec, nsec).In(time.FixedZone("z", offset))
		sameAsMarshal(t, Event{Provider: provider, CallID: id, EventKey: id, ReceivedAt: at, StartedAt: at,
			ClientPhone: phone, Manager: manager, Status: Status(status), RecordingURL: url, ManagerRank: status})
	})
}

// BenchmarkMarshal is the encode every webhook pays per event.
func BenchmarkMarshal(b *testing.B) {
	e := benchEvent()
	for b.Loop() {
		if _, err := e.Marshal(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDedupKey is the key the ClickHouse writer computes per event.
func BenchmarkDedupKey(b *testing.B) {
	e := benchEvent()
	for b.Loop() {
		_ = e.DedupKey()
	}
}
