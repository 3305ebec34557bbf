package gravitel

import (
	"strings"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// eventFields are the fields of cmd=event that make up its event.
var eventFields = []string{"callid", "type", "direction", "phone", "diversion", "user", "ext"}

// event maps cmd=event, the real-time progress of a call. It carries no
// time, so its moment is when callpulse received it (to the second):
//
//	INCOMING     inbound, StartedAt; the user it rings (rank rang)
//	OUTGOING     outbound, StartedAt; the user dialling (rank rang)
//	ACCEPTED     answered, AnsweredAt; the user who picked up (rank answered)
//	COMPLETED    answered, EndedAt (an arrival-time end); the user on the
//	             call (rank ended)
//	CANCELLED    EndedAt (an arrival-time end); the user it stopped ringing
//	             (rank rang). No status: the caller hung up, or another user
//	             of the group answered, so only history can say whether the
//	             call was missed.
//	TRANSFERRED  (❓, one MegaFon enum) the user it was passed to (rank rang)
//
// Folding keeps the earliest start and answer, so the PBX clock's start
// and answer from history win where they are earlier, and a re-delivered
// or replayed event, which arrives later, changes neither. Ends are
// another matter: a re-delivery or replay says a later end. They are
// marked call.Event.ArrivalEnd, and folding takes the end from history
// (start + duration, the PBX's clock) once it is in, the latest
// arrival-time end only until then.
func (p *Provider) event(f form, now time.Time) (call.Event, error) {
	e, err := p.base(f, now)
	if err != nil {
		return e, err
	}
	at := now.UTC().Truncate(time.Second)
	rank := call.ManagerRang
	typ := strings.ToUpper(f.get("type"))
	switch typ {
	case "INCOMING":
		e.Direction, e.StartedAt = call.DirectionInbound, at
	case "OUTGOING":
		e.Direction, e.StartedAt = call.DirectionOutbound, at
	case "ACCEPTED":
		e.Status, e.AnsweredAt, rank = call.StatusAnswered, at, call.ManagerAnswered
	case "COMPLETED":
		e.Status, e.EndedAt, e.ArrivalEnd, rank = call.StatusAnswered, at, true, call.ManagerEnded
	case "CANCELLED":
		e.EndedAt, e.ArrivalEnd = at, true
	case "TRANSFERRED":
	case "":
		return e, ingest.BadRequest("type", "required")
	default:
		return e, ingest.BadRequest("type", "unknown event type; want INCOMING, ACCEPTED, COMPLETED, CANCELLED, OUTGOING or TRANSFERRED")
	}
	if e.Manager != "" {
		e.ManagerRank = rank
	}

	// direction (in/out) is only in the MegaFon model (🟡); INCOMING and
	// OUTGOING say it themselves and must agree with it.
	var dir call.Direction
	switch strings.ToLower(f.get("direction")) {
	case "":
	case "in":
		dir = call.DirectionInbound
	case "out":
		dir = call.DirectionOutbound
	default:
		return e, ingest.BadRequest("direction", "want in or out")
	}
	switch {
	case dir == call.DirectionUnknown:
	case e.Direction == call.DirectionUnknown:
		e.Direction = dir
	case e.Direction != dir:
		return e, ingest.BadRequest("direction", "contradicts type %s", typ)
	}

	e.EventKey = "event:" + typ + ":" + f.digest(eventFields...)
	return e, nil
}
