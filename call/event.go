// Package call defines the normalised call event that every PBX adapter
// produces and every consumer of the spool reads.
//
// A provider sends many events for one conversation attempt (started, rung,
// answered, ended, recording ready). Each is normalised into an Event that
// carries only what that provider event knew. Events are folded into one call
// by (Provider, CallID) with commutative, idempotent rules (see Fold), so a
// re-delivered or out-of-order event never changes the result.
package call

import (
	"fmt"
	"strconv"
	"time"
)

// Direction of a call as seen from the sales team.
type Direction uint8

// Directions. The zero value means the event did not say.
const (
	DirectionUnknown Direction = iota
	DirectionInbound
	DirectionOutbound
)

var directionNames = [...]string{"unknown", "inbound", "outbound"}

func (d Direction) String() string {
	if int(d) < len(directionNames) {
		return directionNames[d]
	}
	return fmt.Sprintf("Direction(%d)", d)
}

// ParseDirection accepts "inbound" or "outbound".
func ParseDirection(s string) (Direction, error) {
	switch s {
	case "inbound":
		return DirectionInbound, nil
	case "outbound":
		return DirectionOutbound, nil
	}
	return DirectionUnknown, fmt.Errorf("direction %q: want inbound or outbound", s)
}

// Status is the outcome of a call. Larger values win when events are folded:
// once any event says a call was answered, it was answered.
type Status uint8

// Statuses in fold precedence order. StatusNone means the event did not say
// (e.g. a "ringing" or "recording ready" event).
const (
	StatusNone Status = iota
	StatusMissed
	StatusCancelled
	StatusFailed
	StatusBusy
	StatusAnswered
)

var statusNames = [...]string{"none", "missed", "cancelled", "failed", "busy", "answered"}

func (s Status) String() string {
	if int(s) < len(statusNames) {
		return statusNames[s]
	}
	return fmt.Sprintf("Status(%d)", s)
}

// ParseStatus accepts the status names of the generic webhook.
func ParseStatus(s string) (Status, error) {
	for i, n := range statusNames {
		if i > 0 && n == s {
			return Status(i), nil
		}
	}
	return StatusNone, fmt.Errorf("status %q: want one of answered, missed, busy, failed, cancelled", s)
}

// Statuses lists the final statuses (everything but StatusNone), for
// pre-creating metric label values.
func Statuses() []Status {
	return []Status{StatusMissed, StatusCancelled, StatusFailed, StatusBusy, StatusAnswered}
}

// Event is one normalised provider event about one call. Zero values mean
// "this event did not say"; folding keeps what other events said.
type Event struct {
	// Provider is the adapter name ("generic", "zadarma", ...).
	Provider string `json:"provider"`
	// CallID is the provider's stable id of the whole call.
	CallID string `json:"call_id"`
	// EventKey identifies this provider event within the call, so that an
	// exact re-delivery can be recognised (e.g. "NOTIFY_END", or a hash of a
	// generic snapshot).
	EventKey string `json:"event_key"`
	// ReceivedAt is when callpulse accepted the event.
	ReceivedAt time.Time `json:"received_at"`

	Direction  Direction `json:"direction,omitempty"`
	StartedAt  time.Time `json:"started_at,omitzero"`
	AnsweredAt time.Time `json:"answered_at,omitzero"`
	EndedAt    time.Time `json:"ended_at,omitzero"`
	// ArrivalEnd says that EndedAt is when callpulse received the event, not
	// a time the PBX reported: the PBX sent "the call ended" without saying
	// when (Gravitel's cmd=event COMPLETED and CANCELLED). A retry or a
	// replay of such an event arrives later and so says a later end; Fold
	// lets it decide the end only while no end on the PBX's clock is known.
	// False, and absent from spool records written before it existed, for
	// every other end.
	ArrivalEnd bool `json:"arrival_end,omitempty"`
	// ClientPhone and LinePhone are E.164 ("+79161234567") or empty.
	ClientPhone string `json:"client_phone,omitempty"`
	LinePhone   string `json:"line_phone,omitempty"`
	// Manager is the PBX extension or user id of the manager on the call.
	Manager string `json:"manager,omitempty"`
	// ManagerRank orders competing Manager values: the extension that
	// answered (2) beats one that ended the call (1) beats one that rang (0).
	ManagerRank uint8  `json:"manager_rank,omitempty"`
	Status      Status `json:"status,omitempty"`
	// TalkSeconds is the talk time the provider reported, if it reports one;
	// otherwise talk time is EndedAt − AnsweredAt.
	TalkSeconds  uint32 `json:"talk_seconds,omitempty"`
	RecordingURL string `json:"recording_url,omitempty"`
	// RecordingRef is a provider-specific recording id (e.g. Zadarma's
	// call_id_with_rec) for adapters that fetch recordings through an API.
	RecordingRef string `json:"recording_ref,omitempty"`
}

// Manager ranks for Event.ManagerRank.
const (
	ManagerRang     uint8 = 0
	ManagerEnded    uint8 = 1
	ManagerAnswered uint8 = 2
)

// DedupKey identifies the event's content: EventKey plus a hash of every
// field but ReceivedAt. Two deliveries of one provider event get the same
// key only if they say exactly the same thing, so collapsing rows by this key
// (as ClickHouse's ReplacingMergeTree does on merge) never changes a folded
// call, even for events whose fields depend on when they were received
// (e.g. an answer time taken from the arrival of an "answered" event).
func (e Event) DedupKey() string {
	e.ReceivedAt = time.Time{}
	var buf [512]byte
	b, _ := e.appendJSON(buf[:0]) // a struct of strings, numbers and times cannot fail
	h := uint64(fnvOffset64)      // FNV-1a, as hash/fnv's New64a, without its allocation
	for _, c := range b {
		h = (h ^ uint64(c)) * fnvPrime64
	}
	return e.EventKey + "/" + strconv.FormatUint(h, 36)
}

// The FNV-1a parameters of DedupKey's hash.
const (
	fnvOffset64 = 14695981039346656037
	fnvPrime64  = 1099511628211
)

// Marshal encodes the event for the spool.
func (e Event) Marshal() ([]byte, error) { return e.appendJSON(make([]byte, 0, 384)) }
