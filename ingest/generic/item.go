package generic

import (
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"time"
	"unicode"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// item is one call snapshot as sent. Pointers tell "absent or null" apart.
type item struct {
	CallID       *string `json:"call_id"`
	Direction    *string `json:"direction"`
	StartedAt    *string `json:"started_at"`
	AnsweredAt   *string `json:"answered_at"`
	EndedAt      *string `json:"ended_at"`
	ClientPhone  *string `json:"client_phone"`
	LinePhone    *string `json:"line_phone"`
	Manager      *string `json:"manager"`
	Status       *string `json:"status"`
	RecordingURL *string `json:"recording_url"`
}

const (
	maxIDLen  = 200
	maxURLLen = 2048
)

func (p *Provider) parseItem(raw json.RawMessage, prefix string, now time.Time) (call.Event, error) {
	it, err := decodeItem(raw)
	if err != nil {
		return call.Event{}, decodeError(err, prefix)
	}
	bad := func(field, format string, args ...any) error {
		return ingest.BadRequest(prefix+field, format, args...)
	}
	e := call.Event{Provider: Name, EventKey: eventKey(raw), ReceivedAt: now.UTC()}

	id := str(it.CallID)
	switch {
	case id == "":
		return e, bad("call_id", "required")
	case len(id) > maxIDLen:
		return e, bad("call_id", "longer than %d bytes", maxIDLen)
	case strings.IndexFunc(id, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		return e, bad("call_id", "contains non-printable characters")
	}
	e.CallID = id

	if it.Direction == nil {
		return e, bad("direction", "required: inbound or outbound")
	}
	if e.Direction, err = call.ParseDirection(*it.Direction); err != nil {
		return e, bad("direction", "want inbound or outbound")
	}
	if it.Status == nil {
		return e, bad("status", "required: answered, missed, busy, failed or cancelled")
	}
	if e.Status, err = call.ParseStatus(*it.Status); err != nil {
		return e, bad("status", "want answered, missed, busy, failed or cancelled")
	}

	if it.StartedAt == nil {
		return e, bad("started_at", "required (RFC 3339 with offset)")
	}
	times := []struct {
		field string
		src   *string
		dst   *time.Time
	}{
		{"started_at", it.StartedAt, &e.StartedAt},
		{"answered_at", it.AnsweredAt, &e.AnsweredAt},
		{"ended_at", it.EndedAt, &e.EndedAt},
	}
	for _, t := range times {
		if t.src == nil {
			continue
		}
		v, err := time.Parse(time.RFC3339, *t.src)
		if err != nil {
			return e, bad(t.field, "want RFC 3339 time with offset, e.g. 2026-11-20T09:15:00+03:00")
		}
		if y := v.UTC().Year(); y < 2000 || y >= 2100 {
			// As the other providers: no call is from another century,
			// and a year outside 0–9999 in UTC cannot even be stored.
			return e, bad(t.field, "year out of range, want 2000 to 2099")
		}
		*t.dst = v.UTC()
	}
	if err := checkTimeline(&e, bad); err != nil {
		return e, err
	}

	if it.ClientPhone == nil || *it.ClientPhone == "" {
		return e, bad("client_phone", "required")
	}
	if e.ClientPhone, err = p.norm.Normalize(*it.ClientPhone); err != nil {
		return e, bad("client_phone", "not a valid phone number")
	}
	if v := str(it.LinePhone); v != "" {
		if e.LinePhone, err = p.norm.Normalize(v); err != nil {
			return e, bad("line_phone", "not a valid phone number")
		}
	}
	if e.Manager = str(it.Manager); len(e.Manager) > 64 {
		return e, bad("manager", "longer than 64 bytes")
	}
	switch {
	case e.Manager == "":
	case e.Status == call.StatusAnswered:
		e.ManagerRank = call.ManagerAnswered
	case !e.EndedAt.IsZero():
		e.ManagerRank = call.ManagerEnded
	}
	if v := str(it.RecordingURL); v != "" {
		u, err := url.Parse(v)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(v) > maxURLLen {
			return e, bad("recording_url", "want an absolute http(s) URL of at most %d bytes", maxURLLen)
		}
		e.RecordingURL = v
	}
	return e, nil
}

// checkTimeline enforces the consistency rules of a snapshot.
func checkTimeline(e *call.Event, bad func(field, format string, args ...any) error) error {
	switch {
	case e.Status == call.StatusAnswered && e.AnsweredAt.IsZero():
		return bad("answered_at", "required when status is answered")
	case e.Status != call.StatusAnswered && !e.AnsweredAt.IsZero():
		return bad("answered_at", "must be absent or null unless status is answered")
	case e.Status == call.StatusMissed && e.Direction != call.DirectionInbound:
		return bad("status", "missed is for inbound calls; an unanswered outbound call is cancelled, busy or failed")
	case !e.AnsweredAt.IsZero() && e.AnsweredAt.Before(e.StartedAt):
		return bad("answered_at", "before started_at")
	case !e.EndedAt.IsZero() && e.EndedAt.Before(e.StartedAt):
		return bad("ended_at", "before started_at")
	case !e.EndedAt.IsZero() && !e.AnsweredAt.IsZero() && e.EndedAt.Before(e.AnsweredAt):
		return bad("ended_at", "before answered_at")
	}
	return nil
}

func decodeError(err error, prefix string) error {
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) && typ.Field != "" {
		return ingest.BadRequest(prefix+typ.Field, "wrong type %s, want %s", typ.Value, typ.Type)
	}
	if msg := err.Error(); strings.HasPrefix(msg, "json: unknown field ") {
		field := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return ingest.BadRequest(prefix+field, "unknown field")
	}
	return ingest.BadRequest(strings.TrimSuffix(prefix, "."), "invalid JSON object: %s", jsonReason(err))
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return strings.TrimSpace(*p)
}
