package mango

import (
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// summaryJSON is the payload of /events/summary, the end-of-call record.
type summaryJSON struct {
	EntryID          text    `json:"entry_id"`
	CallDirection    integer `json:"call_direction"`
	From             party   `json:"from"`
	To               party   `json:"to"`
	LineNumber       text    `json:"line_number"`
	CreateTime       integer `json:"create_time"`
	ForwardTime      integer `json:"forward_time"`
	TalkTime         integer `json:"talk_time"`
	EndTime          integer `json:"end_time"`
	EntryResult      integer `json:"entry_result"`
	DisconnectReason integer `json:"disconnect_reason"`
}

// call_direction values.
const (
	directionInternal = 0
	directionInbound  = 1
	directionOutbound = 2
)

// summary maps /events/summary. Mango sends one per entry, so its EventKey
// is "summary". Internal calls (call_direction 0: employee to employee)
// are not sales calls and produce no event.
func (d decoder) summary(payload string) ([]call.Event, error) {
	var s summaryJSON
	if err := decode(payload, &s); err != nil {
		return nil, err
	}
	entry, err := id("entry_id", s.EntryID)
	if err != nil {
		return nil, err
	}
	if !s.CallDirection.set {
		return nil, ingest.BadRequest("call_direction", "required: 0, 1 or 2")
	}
	e := d.event(entry, "summary")
	var client, employee party
	switch s.CallDirection.v {
	case directionInternal:
		return nil, nil
	case directionInbound:
		e.Direction, client, employee = call.DirectionInbound, s.From, s.To
	case directionOutbound:
		e.Direction, client, employee = call.DirectionOutbound, s.To, s.From
	default:
		return nil, ingest.BadRequest("call_direction", "want 0 (internal), 1 (inbound) or 2 (outbound)")
	}
	if err := summaryTimes(&e, s); err != nil {
		return nil, err
	}
	if _, err := unixTime("forward_time", s.ForwardTime, false); err != nil {
		return nil, err
	}

	clientField, employeeField := "from", "to"
	if e.Direction == call.DirectionOutbound {
		clientField, employeeField = "to", "from"
	}
	e.ClientPhone = d.phone(clientField+".number", client.Number)
	e.LinePhone = d.phone("line_number", s.LineNumber)
	if e.Manager, err = extension(employeeField+".extension", employee.Extension); err != nil {
		return nil, err
	}

	// talk_time is the moment of answer; 0 means nobody answered.
	// entry_result (1 successful, 0 not) says the same and is not needed.
	switch {
	case !e.AnsweredAt.IsZero() || e.TalkSeconds > 0:
		e.Status = call.StatusAnswered
		// To is the party who answered an inbound call; From is the
		// employee whose outbound call was answered.
		e.ManagerRank = call.ManagerAnswered
	case e.Direction == call.DirectionInbound:
		e.Status = call.StatusMissed
		// To is the first party who missed the call: the summary names it
		// over the legs' other ringing extensions.
		e.ManagerRank = call.ManagerEnded
	default:
		e.Status = outboundStatus(s.DisconnectReason.v)
		e.ManagerRank = call.ManagerEnded
	}
	if e.Manager == "" {
		e.ManagerRank = 0
	}
	return []call.Event{e}, nil
}

// summaryTimes sets StartedAt, AnsweredAt and EndedAt (and TalkSeconds if
// Mango reports a duration) and checks their order.
//
// talk_time is documented as the unix time of answer (🟡; the vendor SDK's
// fixture agrees). Should a deployment send a duration instead, a positive
// value below the year 2000 is read as talk seconds, and the answer time
// is end_time minus it.
func summaryTimes(e *call.Event, s summaryJSON) error {
	var err error
	if e.StartedAt, err = unixTime("create_time", s.CreateTime, true); err != nil {
		return err
	}
	if e.EndedAt, err = unixTime("end_time", s.EndTime, true); err != nil {
		return err
	}
	if e.EndedAt.Before(e.StartedAt) {
		return ingest.BadRequest("end_time", "before create_time")
	}
	talk := s.TalkTime
	switch {
	case talk.set && talk.v < 0:
		return ingest.BadRequest("talk_time", "negative")
	case talk.set && talk.v > 0 && talk.v < minUnix:
		if talk.v > int64(e.EndedAt.Sub(e.StartedAt)/time.Second) {
			return ingest.BadRequest("talk_time", "read as a duration, longer than the call")
		}
		e.TalkSeconds = uint32(talk.v)
		e.AnsweredAt = e.EndedAt.Add(-time.Duration(talk.v) * time.Second)
		return nil
	}
	if e.AnsweredAt, err = unixTime("talk_time", talk, false); err != nil {
		return err
	}
	if !e.AnsweredAt.IsZero() && (e.AnsweredAt.Before(e.StartedAt) || e.AnsweredAt.After(e.EndedAt)) {
		return ingest.BadRequest("talk_time", "not between create_time and end_time")
	}
	return nil
}

// outboundStatus maps the disconnect_reason of an outbound call nobody
// answered (codes in spec §2.6): busy when the callee was busy or refused,
// failed when the call could not be placed, cancelled otherwise (the
// caller hung up, nobody answered in time, a command ended it, or a code
// callpulse does not know).
func outboundStatus(reason int64) call.Status {
	switch {
	case reason >= 1121 && reason <= 1123: // busy, rejected, do not disturb
		return call.StatusBusy
	case reason >= 1130 && reason <= 1134, // callee restricted, unavailable, not serviced, no such number, too many forwards
		reason == 1140,                   // region blocked
		reason >= 1150 && reason <= 1152, // caller restricted, blacklist, whitelist
		reason == 1170, reason == 1171,   // forwarding scheme
		reason >= 1190 && reason <= 1192, // callee inactive or off schedule
		reason >= 2000 && reason <= 5999: // billing limits, request errors, impossible action, server errors
		return call.StatusFailed
	}
	return call.StatusCancelled
}
