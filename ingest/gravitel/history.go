package gravitel

import (
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// startLayout is `start`: compact ISO 8601 in UTC, e.g. 20240514T072105Z.
const startLayout = "20060102T150405Z"

// maxSeconds bounds duration and wait; a longer call is not a call.
const maxSeconds = 7 * 24 * 3600

// historyFields are the fields of cmd=history that make up its event; their
// values identify the record (see form.digest).
var historyFields = []string{"callid", "type", "status", "phone", "diversion", "user", "ext",
	"start", "duration", "wait", "link"}

// base reads the fields every call command shares: callid, the client's
// number (phone), our number (diversion) and the PBX user.
func (p *Provider) base(f form, now time.Time) (call.Event, error) {
	e := call.Event{Provider: Name, ReceivedAt: now.UTC()}
	var err error
	if e.CallID, err = f.callID(); err != nil {
		return e, err
	}
	if e.ClientPhone, err = f.phone("phone", p.norm); err != nil {
		return e, err
	}
	if e.LinePhone, err = f.phone("diversion", p.norm); err != nil {
		return e, err
	}
	if e.Manager, err = f.manager(); err != nil {
		return e, err
	}
	return e, nil
}

// history maps cmd=history, the record the PBX sends once a call is over:
//
//	StartedAt  = start
//	AnsweredAt = start + wait, for a successful call that reports wait
//	EndedAt    = start + duration
//
// duration is the total length of the call in seconds, ringing included
// (both sources: "общая длительность звонка"), so it is not reported as
// talk time; talk time is EndedAt − AnsweredAt. wait, the seconds before
// the answer, is not in the spec (❓): without it a successful call has no
// answer time from this record, and takes the one of the ACCEPTED event.
// A wait longer than duration can only mean that this PBX counts duration
// from the answer, so then EndedAt = AnsweredAt + duration.
func (p *Provider) history(f form, now time.Time) (call.Event, error) {
	e, err := p.base(f, now)
	if err != nil {
		return e, err
	}
	e.EventKey = "history:" + f.digest(historyFields...)

	switch strings.ToLower(f.get("type")) {
	case "in":
		e.Direction = call.DirectionInbound
	case "out":
		e.Direction = call.DirectionOutbound
	case "missed": // in one MegaFon enum only (❓): a missed inbound call
		e.Direction = call.DirectionInbound
	case "":
		return e, ingest.BadRequest("type", "required: in or out")
	default:
		return e, ingest.BadRequest("type", "want in or out")
	}
	var ok bool
	if e.Status, ok = historyStatus(f.get("status"), e.Direction); !ok {
		return e, ingest.BadRequest("status",
			"want Success, missed, Cancel, Busy, NotAvailable, NotAllowed or NotFound (any case)")
	}

	start := f.get("start")
	if start == "" {
		return e, ingest.BadRequest("start", "required")
	}
	if e.StartedAt, err = time.Parse(startLayout, start); err != nil || e.StartedAt.Year() < 2000 || e.StartedAt.Year() > 2099 {
		return e, ingest.BadRequest("start", "want UTC time as YYYYmmddTHHMMSSZ, e.g. 20240514T072105Z")
	}
	duration, err := seconds(f, "duration", true)
	if err != nil {
		return e, err
	}
	wait, err := seconds(f, "wait", false)
	if err != nil {
		return e, err
	}
	e.EndedAt = e.StartedAt.Add(duration)
	if e.Status == call.StatusAnswered && f.get("wait") != "" {
		e.AnsweredAt = e.StartedAt.Add(wait)
		if wait > duration {
			e.EndedAt = e.AnsweredAt.Add(duration)
		}
	}

	switch {
	case e.Manager == "":
	case e.Status == call.StatusAnswered:
		e.ManagerRank = call.ManagerAnswered
	default:
		e.ManagerRank = call.ManagerEnded
	}

	if link := f.get("link"); link != "" {
		u, err := url.Parse(link)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || len(link) > maxURLLen {
			return e, ingest.BadRequest("link", "want an absolute http(s) URL of at most %d bytes", maxURLLen)
		}
		e.RecordingURL = link
	}
	return e, nil
}

// historyStatus maps `status`, compared without case: vendors disagree on
// it (Gravitel sends "missed", MegaFon's enum says "Missed"). Whatever the
// PBX calls it, an inbound call nobody answered is missed; an unanswered
// outbound call is busy, failed (unavailable, forbidden or no such number)
// or cancelled (no answer, or dropped by the manager).
func historyStatus(raw string, dir call.Direction) (call.Status, bool) {
	var out call.Status
	switch strings.ToLower(raw) {
	case "success":
		return call.StatusAnswered, true
	case "missed", "cancel":
		out = call.StatusCancelled
	case "busy":
		out = call.StatusBusy
	case "notavailable", "notallowed", "notfound":
		out = call.StatusFailed
	default:
		return call.StatusNone, false
	}
	if dir == call.DirectionInbound {
		return call.StatusMissed, true
	}
	return out, true
}

// seconds reads a count of seconds.
func seconds(f form, field string, required bool) (time.Duration, error) {
	v := f.get(field)
	if v == "" {
		if required {
			return 0, ingest.BadRequest(field, "required: whole seconds")
		}
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil || n > maxSeconds {
		return 0, ingest.BadRequest(field, "want whole seconds from 0 to %d", maxSeconds)
	}
	return time.Duration(n) * time.Second, nil
}
