package mango

import (
	"strings"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// legJSON is the payload of /events/call: a state change of one leg
// (call_id) of a call (entry_id).
type legJSON struct {
	EntryID           text    `json:"entry_id"`
	CallID            text    `json:"call_id"`
	Timestamp         integer `json:"timestamp"`
	Seq               integer `json:"seq"`
	CallState         text    `json:"call_state"`
	Location          text    `json:"location"`
	From              party   `json:"from"`
	To                party   `json:"to"`
	CallbackInitiator text    `json:"callback_initiator"`
}

// leg maps one /events/call notification to at most one partial event.
//
// A leg moves Appeared → Connected ⇄ OnHold → Disconnected, numbering its
// notifications with seq, and Mango may deliver them out of order. Instead
// of remembering the latest seq per leg, each state is mapped to a field
// whose fold rule is monotone in time: Appeared sets StartedAt (earliest
// wins), Connected sets AnsweredAt (earliest wins) and Disconnected sets
// EndedAt (latest wins), and Manager folds by rank (answered > ended >
// rang), not by arrival. A stale notification therefore only restates a
// transition that the fold already places correctly and can never undo a
// newer one; its time comes from the notification, not from its arrival.
// EventKey is call_id:seq, so a re-delivery is recognised.
//
// Legs do not set Direction, ClientPhone or LinePhone: those fold by
// "largest wins", and the parties of a transfer, a forward to a mobile or
// a consultation leg are not the client. The summary sets them.
func (d decoder) leg(payload string) ([]call.Event, error) {
	var l legJSON
	if err := decode(payload, &l); err != nil {
		return nil, err
	}
	entry, err := id("entry_id", l.EntryID)
	if err != nil {
		return nil, err
	}
	callID, err := id("call_id", l.CallID)
	if err != nil {
		return nil, err
	}
	switch {
	case !l.Seq.set:
		return nil, ingest.BadRequest("seq", "required")
	case l.Seq.v < 0:
		return nil, ingest.BadRequest("seq", "negative")
	}
	at, err := unixTime("timestamp", l.Timestamp, true)
	if err != nil {
		return nil, err
	}
	fromExt, err := extension("from.extension", l.From.Extension)
	if err != nil {
		return nil, err
	}
	toExt, err := extension("to.extension", l.To.Extension)
	if err != nil {
		return nil, err
	}
	state := strings.ToLower(string(l.CallState))
	if state == "" {
		return nil, ingest.BadRequest("call_state", "required")
	}

	// The employee on the leg, if any. A leg between two employees is an
	// internal call or a consultation: it says nothing about the client's
	// call, and dropping it keeps internal calls out of the statistics.
	var employee string
	employeeCalled := false
	switch {
	case fromExt != "" && toExt != "":
		return nil, nil
	case toExt != "":
		employee, employeeCalled = toExt, true
	case fromExt != "":
		employee = fromExt
	}

	e := d.event(entry, key("call", callID, itoa(l.Seq.v)))
	switch state {
	case "appeared":
		e.StartedAt = at
		e.Manager, e.ManagerRank = employee, call.ManagerRang
	case "connected":
		if !talking(l, employee, employeeCalled) {
			// The IVR or a queue took the call, or a callback reached the
			// employee before the client: not an answer.
			return nil, nil
		}
		e.AnsweredAt, e.Status = at, call.StatusAnswered
		e.Manager, e.ManagerRank = employee, call.ManagerAnswered
	case "disconnected":
		e.EndedAt = at
		// An employee who was called may only have rung (an answered leg
		// has its Connected); the caller of an outbound leg ended it.
		e.Manager, e.ManagerRank = employee, call.ManagerEnded
		if employeeCalled {
			e.ManagerRank = call.ManagerRang
		}
	default:
		// OnHold follows a Connected that carries the answer, and states
		// Mango may add tell nothing callpulse stores.
		return nil, nil
	}
	if e.Manager == "" {
		e.ManagerRank = 0
	}
	return []call.Event{e}, nil
}

// talking reports whether a Connected leg is a conversation between an
// employee and the outside party: location "abonent" and an employee on
// one side. In a callback (callback_initiator set) Mango rings the
// employee first, so only the employee's own call to the client counts.
func talking(l legJSON, employee string, employeeCalled bool) bool {
	if employee == "" || !strings.EqualFold(string(l.Location), "abonent") {
		return false
	}
	return l.CallbackInitiator == "" || !employeeCalled
}
