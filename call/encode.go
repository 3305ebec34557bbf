package call

import (
	"strconv"
	"time"

	json "github.com/goccy/go-json"
)

// Encoding events for the spool. Every webhook encodes its events once,
// and the ClickHouse writer encodes each event again for DedupKey; the
// reflective encoder took several microseconds per event. appendJSON
// writes the same bytes as json.Marshal by hand for events whose strings
// need no escaping and whose times json.Marshal accepts, which is every
// event the PBXs send in practice; it hands any other event to
// json.Marshal. The bytes must stay identical (encode_test.go checks them):
// DedupKey hashes them, and ClickHouse collapses rows by that key.

// appendJSON appends the event's JSON encoding, exactly as json.Marshal
// writes it, to dst.
func (e *Event) appendJSON(dst []byte) ([]byte, error) {
	if !e.plain() {
		v := *e // only this branch lets the event escape to the heap
		b, err := json.Marshal(v)
		return append(dst, b...), err
	}
	dst = appendField(dst, `{"provider":"`, e.Provider)
	dst = appendField(dst, `","call_id":"`, e.CallID)
	dst = appendField(dst, `","event_key":"`, e.EventKey)
	dst = appendTime(append(dst, `","received_at":"`...), e.ReceivedAt)
	dst = append(dst, '"')
	if e.Direction != 0 {
		dst = strconv.AppendUint(append(dst, `,"direction":`...), uint64(e.Direction), 10)
	}
	for _, t := range []struct {
		key string
		t   *time.Time
	}{{`,"started_at":"`, &e.StartedAt}, {`,"answered_at":"`, &e.AnsweredAt}, {`,"ended_at":"`, &e.EndedAt}} {
		if !t.t.IsZero() {
			dst = append(appendTime(append(dst, t.key...), *t.t), '"')
		}
	}
	if e.ArrivalEnd {
		dst = append(dst, `,"arrival_end":true`...)
	}
	dst = appendOptional(dst, `,"client_phone":"`, e.ClientPhone)
	dst = appendOptional(dst, `,"line_phone":"`, e.LinePhone)
	dst = appendOptional(dst, `,"manager":"`, e.Manager)
	if e.ManagerRank != 0 {
		dst = strconv.AppendUint(append(dst, `,"manager_rank":`...), uint64(e.ManagerRank), 10)
	}
	if e.Status != 0 {
		dst = strconv.AppendUint(append(dst, `,"status":`...), uint64(e.Status), 10)
	}
	if e.TalkSeconds != 0 {
		dst = strconv.AppendUint(append(dst, `,"talk_seconds":`...), uint64(e.TalkSeconds), 10)
	}
	dst = appendOptional(dst, `,"recording_url":"`, e.RecordingURL)
	dst = appendOptional(dst, `,"recording_ref":"`, e.RecordingRef)
	return append(dst, '}'), nil
}

// plain reports whether appendJSON may write e by hand: its strings are
// printable ASCII that JSON writes as is (json.Marshal escapes ", \, and
// also <, > and &), and its times are within what time.Time.MarshalJSON
// accepts and writes as RFC 3339.
func (e *Event) plain() bool {
	for _, s := range [...]string{e.Provider, e.CallID, e.EventKey, e.ClientPhone, e.LinePhone, e.Manager,
		e.RecordingURL, e.RecordingRef} {
		for i := 0; i < len(s); i++ {
			switch c := s[i]; {
			case c < 0x20 || c >= 0x7f, c == '"', c == '\\', c == '<', c == '>', c == '&':
				return false
			}
		}
	}
	for _, t := range [...]time.Time{e.ReceivedAt, e.StartedAt, e.AnsweredAt, e.EndedAt} {
		if y := t.Year(); y < 0 || y > 9999 {
			return false
		}
		if _, off := t.Zone(); off%60 != 0 || off <= -24*3600 || off >= 24*3600 {
			return false
		}
	}
	return true
}

func appendField(dst []byte, key, v string) []byte { return append(append(dst, key...), v...) }

// appendOptional appends a string field that is omitted when empty, and
// its closing quote.
func appendOptional(dst []byte, key, v string) []byte {
	if v == "" {
		return dst
	}
	return append(appendField(dst, key, v), '"')
}

// appendTime is time.Time.MarshalJSON without its quotes.
func appendTime(dst []byte, t time.Time) []byte { return t.AppendFormat(dst, time.RFC3339Nano) }
