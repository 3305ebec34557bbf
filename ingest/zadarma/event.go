package zadarma

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// Limits on field values.
const (
	maxIDLen       = 200
	maxManagerLen  = 64
	maxDuration    = 7 * 24 * 60 * 60 // seconds; no call lasts a week
	callStartShape = "2006-01-02 15:04:05"
)

// parse authenticates one notification and maps it to a partial call event
// (see the README for the field mapping).
func (p *Provider) parse(form url.Values, signature string, now time.Time) (call.Event, error) {
	k, err := lookupKind(form)
	if err != nil {
		return call.Event{}, err
	}
	if err := k.verify(form, signature, p.secret); err != nil {
		return call.Event{}, err
	}
	f := &fields{form: form}
	e := call.Event{
		Provider:   Name,
		CallID:     f.id("pbx_call_id", true),
		EventKey:   eventKey(k.name, form),
		ReceivedAt: now.UTC(),
		Direction:  k.direction,
	}
	if k.name != eventRecord {
		e.StartedAt = p.callStart(f)
	}
	switch k.name {
	case eventStart, eventIVR, eventInternal:
		e.ClientPhone = p.phone(f.text("caller_id"))
		e.LinePhone = p.phone(f.text("called_did"))
		if k.name == eventInternal {
			e.Manager, e.ManagerRank = f.manager("internal"), call.ManagerRang
		}
	case eventAnswer:
		// No answer time is sent; the notification goes out as the call is
		// answered, so its receive time is the answer time. destination is
		// the extension that answered, unless the call was forwarded to a
		// phone number, which is no manager id. caller_id is not taken as
		// the client phone: START, INTERNAL and END carry it for inbound
		// calls, and whether ANSWER is also sent for outbound calls (where
		// caller_id would be our side) is unconfirmed.
		e.AnsweredAt, e.Status = e.ReceivedAt, call.StatusAnswered
		e.Manager = f.manager("internal")
		if dst := f.manager("destination"); e.Manager == "" && p.phone(dst) == "" {
			e.Manager = dst
		}
		e.ManagerRank = call.ManagerAnswered
	case eventEnd:
		e.ClientPhone = p.phone(f.text("caller_id"))
		e.LinePhone = p.phone(f.text("called_did"))
		p.end(f, &e)
	case eventOutStart:
		e.ClientPhone = p.phone(f.text("destination"))
		e.LinePhone = p.phone(f.text("caller_id")) // not in the SDK; used if sent
		e.Manager, e.ManagerRank = f.manager("internal"), call.ManagerRang
	case eventOutEnd:
		e.ClientPhone = p.phone(f.text("destination"))
		e.LinePhone = p.phone(f.text("caller_id"))
		p.end(f, &e)
	case eventRecord:
		e.RecordingRef = f.id("call_id_with_rec", true)
	}
	if f.err != nil {
		return call.Event{}, f.err
	}
	if e.Manager == "" {
		e.ManagerRank = 0 // a rank without a manager means nothing
	}
	return e, nil
}

// end fills what NOTIFY_END and NOTIFY_OUT_END say: outcome, end time,
// extension and recording. duration is the whole call length (spec §8), so
// it gives the end time, not the talk time; talk time is EndedAt minus the
// NOTIFY_ANSWER receive time.
func (p *Provider) end(f *fields, e *call.Event) {
	if d := f.seconds("duration"); f.err == nil && !e.StartedAt.IsZero() {
		e.EndedAt = e.StartedAt.Add(time.Duration(d) * time.Second)
	}
	e.Status = f.disposition(e.Direction)
	if d := f.seconds("duration"); f.err == nil && e.Status == call.StatusAnswered && e.Direction == call.DirectionOutbound {
		// Zadarma sends no answer event for outbound calls, so duration is
		// their only measure of the conversation. Whether it includes the
		// ringing is unconfirmed (README): taking it as talk time keeps
		// outbound talk time from being zero and may overstate it by the
		// ring time. Inbound calls have NOTIFY_ANSWER: talk = end − answer.
		e.TalkSeconds = uint32(d)
	}
	e.Manager, e.ManagerRank = f.manager("internal"), call.ManagerEnded
	if f.text("is_recorded") == "1" {
		e.RecordingRef = f.id("call_id_with_rec", false)
	}
}

// callStart reads call_start: "YYYY-MM-DD HH:MM:SS" in the configured zone,
// or RFC 3339 with an offset should Zadarma ever send one.
func (p *Provider) callStart(f *fields) time.Time {
	v := f.text("call_start")
	if f.err != nil {
		return time.Time{}
	}
	if v == "" {
		f.fail("call_start", "required")
		return time.Time{}
	}
	t, err := time.ParseInLocation(callStartShape, v, p.loc)
	if err != nil {
		if t, err = time.Parse(time.RFC3339, v); err != nil {
			f.fail("call_start", "want YYYY-MM-DD HH:MM:SS")
			return time.Time{}
		}
	}
	if t.Year() < 2000 || t.Year() >= 2100 {
		f.fail("call_start", "year out of range")
		return time.Time{}
	}
	return t.UTC()
}

// phone normalises a number to E.164. Values that are not phone numbers
// (anonymous callers, extensions, empty) give "" rather than an error, so
// that the call is still recorded.
func (p *Provider) phone(v string) string {
	if v == "" {
		return ""
	}
	n, err := p.norm.Normalize(v)
	if err != nil {
		return ""
	}
	return n
}

// dispositions maps NOTIFY_END/NOTIFY_OUT_END dispositions to statuses.
// "no answer" and "cancel" are direction-dependent (see disposition).
var dispositions = map[string]call.Status{
	"answered":           call.StatusAnswered,
	"busy":               call.StatusBusy,
	"no answer":          call.StatusMissed,
	"cancel":             call.StatusMissed,
	"failed":             call.StatusFailed,
	"no money":           call.StatusFailed,
	"unallocated number": call.StatusFailed,
	"no limit":           call.StatusFailed,
	"no day limit":       call.StatusFailed,
	"line limit":         call.StatusFailed,
	"no money, no limit": call.StatusFailed,
}

// eventKey identifies a notification by its name and all its fields, so an
// exact re-delivery gets the same key and any other notification of the call
// (including one NOTIFY_INTERNAL per extension rung) gets another.
func eventKey(name string, form url.Values) string {
	sum := sha256.Sum256([]byte(form.Encode()))
	return name + ":" + hex.EncodeToString(sum[:8])
}

// fields reads form values and keeps the first problem, so that mapping code
// reads straight through and checks once.
type fields struct {
	form url.Values
	err  error
}

func (f *fields) fail(field, format string, args ...any) {
	if f.err == nil {
		f.err = ingest.BadRequest(field, format, args...)
	}
}

// text returns a field's trimmed value; a repeated field is an error.
func (f *fields) text(key string) string {
	vs := f.form[key]
	if len(vs) > 1 {
		f.fail(key, "repeated")
		return ""
	}
	if len(vs) == 0 {
		return ""
	}
	return strings.TrimSpace(vs[0])
}

// id returns a printable identifier of at most maxIDLen bytes.
func (f *fields) id(key string, required bool) string {
	v := f.text(key)
	switch {
	case v == "" && required:
		f.fail(key, "required")
	case len(v) > maxIDLen:
		f.fail(key, "longer than %d bytes", maxIDLen)
	case strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		f.fail(key, "contains non-printable characters")
	default:
		return v
	}
	return ""
}

// manager returns an optional extension of at most maxManagerLen bytes.
func (f *fields) manager(key string) string {
	v := f.text(key)
	switch {
	case len(v) > maxManagerLen:
		f.fail(key, "longer than %d bytes", maxManagerLen)
	case strings.IndexFunc(v, func(r rune) bool { return !unicode.IsPrint(r) }) >= 0:
		f.fail(key, "contains non-printable characters")
	default:
		return v
	}
	return ""
}

// seconds returns a required whole number of seconds in [0, maxDuration].
func (f *fields) seconds(key string) uint32 {
	v := f.text(key)
	if v == "" {
		f.fail(key, "required")
		return 0
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n > maxDuration {
		f.fail(key, "want whole seconds from 0 to %d", maxDuration)
		return 0
	}
	return uint32(n)
}

// disposition maps the required disposition field. An unanswered outbound
// call ("no answer", "cancel") is cancelled; an unanswered inbound one is
// missed.
func (f *fields) disposition(dir call.Direction) call.Status {
	v := strings.ToLower(f.text("disposition"))
	if v == "" {
		f.fail("disposition", "required")
		return call.StatusNone
	}
	s, ok := dispositions[v]
	if !ok {
		f.fail("disposition", "unknown value; want answered, busy, cancel, no answer, failed, no money, "+
			"unallocated number, no limit, no day limit, line limit or no money, no limit")
		return call.StatusNone
	}
	if s == call.StatusMissed && dir == call.DirectionOutbound {
		s = call.StatusCancelled
	}
	return s
}
