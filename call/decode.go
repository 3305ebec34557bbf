package call

import (
	"fmt"
	"strconv"
	"time"

	json "github.com/goccy/go-json"
)

// Decoding events from the spool: every consumer decodes every event.
// decodePlain reads, by hand, what appendJSON writes by hand — one object
// of the Event's keys spelt as in its tags, strings without escapes,
// decimal numbers, true and false — and leaves anything else (records
// encoded by json.Marshal with escapes, or written by older versions in
// another shape) to json.Unmarshal. Times are decoded by the same
// time.Time.UnmarshalJSON json.Unmarshal calls. decode_test.go checks that
// both give the same event for any input decodePlain takes.

// Unmarshal decodes an event read from the spool.
func Unmarshal(b []byte) (Event, error) {
	var e Event
	if e.decodePlain(b) {
		return e, nil
	}
	return unmarshalJSON(b)
}

// unmarshalJSON decodes with json.Unmarshal, in a variable of its own: the
// one Unmarshal fills by hand then stays on the stack.
func unmarshalJSON(b []byte) (Event, error) {
	var e Event
	if err := json.Unmarshal(b, &e); err != nil {
		return Event{}, fmt.Errorf("decode call event: %w", err)
	}
	return e, nil
}

// decodePlain decodes b into e, which must be zero, if b is in the plain
// form; e is left half-filled when it reports false.
func (e *Event) decodePlain(b []byte) bool {
	s := string(b) // the strings of the event are substrings of one copy
	if len(s) < 2 || s[0] != '{' || s[len(s)-1] != '}' {
		return false
	}
	i := 1
	if s[i] == '}' {
		return i == len(s)-1
	}
	for {
		key, j, ok := plainString(s, i)
		if !ok || j == len(s) || s[j] != ':' {
			return false
		}
		i = j + 1
		switch key {
		case "provider":
			e.Provider, i, ok = plainString(s, i)
		case "call_id":
			e.CallID, i, ok = plainString(s, i)
		case "event_key":
			e.EventKey, i, ok = plainString(s, i)
		case "client_phone":
			e.ClientPhone, i, ok = plainString(s, i)
		case "line_phone":
			e.LinePhone, i, ok = plainString(s, i)
		case "manager":
			e.Manager, i, ok = plainString(s, i)
		case "recording_url":
			e.RecordingURL, i, ok = plainString(s, i)
		case "recording_ref":
			e.RecordingRef, i, ok = plainString(s, i)
		case "received_at":
			i, ok = plainTime(s, i, &e.ReceivedAt)
		case "started_at":
			i, ok = plainTime(s, i, &e.StartedAt)
		case "answered_at":
			i, ok = plainTime(s, i, &e.AnsweredAt)
		case "ended_at":
			i, ok = plainTime(s, i, &e.EndedAt)
		case "direction":
			var v uint64
			v, i, ok = plainUint(s, i, 8)
			e.Direction = Direction(v)
		case "manager_rank":
			var v uint64
			v, i, ok = plainUint(s, i, 8)
			e.ManagerRank = uint8(v)
		case "status":
			var v uint64
			v, i, ok = plainUint(s, i, 8)
			e.Status = Status(v)
		case "talk_seconds":
			var v uint64
			v, i, ok = plainUint(s, i, 32)
			e.TalkSeconds = uint32(v)
		case "arrival_end":
			switch {
			case len(s)-i >= 4 && s[i:i+4] == "true":
				e.ArrivalEnd, i = true, i+4
			case len(s)-i >= 5 && s[i:i+5] == "false":
				e.ArrivalEnd, i = false, i+5
			default:
				ok = false
			}
		default:
			return false
		}
		if !ok || i >= len(s) {
			return false
		}
		switch s[i] {
		case ',':
			i++
		case '}':
			return i == len(s)-1
		default:
			return false
		}
	}
}

// plainString reads the JSON string at s[i] if it is printable ASCII
// without escapes, and returns it and the index after its closing quote.
func plainString(s string, i int) (string, int, bool) {
	if i >= len(s) || s[i] != '"' {
		return "", 0, false
	}
	for j := i + 1; j < len(s); j++ {
		switch c := s[j]; {
		case c == '"':
			return s[i+1 : j], j + 1, true
		case c == '\\' || c < 0x20 || c >= 0x7f:
			return "", 0, false
		}
	}
	return "", 0, false
}

// plainTime decodes the JSON string at s[i] into t as t.UnmarshalJSON
// does: UTC times as appendJSON writes them by hand, others with
// UnmarshalJSON itself.
func plainTime(s string, i int, t *time.Time) (int, bool) {
	v, j, ok := plainString(s, i)
	if !ok {
		return 0, false
	}
	if u, ok := utcTime(v); ok {
		*t = u
		return j, true
	}
	if t.UnmarshalJSON([]byte(s[i:j])) != nil {
		return 0, false
	}
	return j, true
}

// utcTime parses "2006-01-02T15:04:05Z", with a fraction of one to nine
// digits before the Z or not, with every field in range.
func utcTime(v string) (time.Time, bool) {
	const layout = "2006-01-02T15:04:05"
	if len(v) < len(layout)+1 || v[len(v)-1] != 'Z' || v[4] != '-' || v[7] != '-' || v[10] != 'T' ||
		v[13] != ':' || v[16] != ':' {
		return time.Time{}, false
	}
	year, ok1 := digits(v[0:4])
	month, ok2 := digits(v[5:7])
	day, ok3 := digits(v[8:10])
	hour, ok4 := digits(v[11:13])
	minute, ok5 := digits(v[14:16])
	sec, ok6 := digits(v[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || month < 1 || month > 12 || day < 1 ||
		day > daysIn(time.Month(month), year) || hour > 23 || minute > 59 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := v[len(layout) : len(v)-1]; frac != "" {
		n, ok := digits(frac[min(1, len(frac)):])
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 || !ok {
			return time.Time{}, false
		}
		for range 10 - len(frac) {
			n *= 10
		}
		nsec = n
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// digits is the value of a run of decimal digits.
func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// daysIn is the number of days of month m of year.
func daysIn(m time.Month, year int) int {
	return time.Date(year, m+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// plainUint reads a decimal number without sign, fraction, exponent or
// leading zeros at s[i] that fits in bits.
func plainUint(s string, i, bits int) (uint64, int, bool) {
	j := i
	for j < len(s) && s[j] >= '0' && s[j] <= '9' {
		j++
	}
	if j == i || (s[i] == '0' && j > i+1) {
		return 0, 0, false
	}
	v, err := strconv.ParseUint(s[i:j], 10, bits)
	return v, j, err == nil
}
