package simulate

import (
	"time"

	"github.com/callpulse/callpulse/call"
)

// snapshot is the body of the generic webhook: what the PBX knows about a
// call at one moment. Times are marshalled as RFC 3339 in the simulation's
// location, in whole seconds.
type snapshot struct {
	CallID       string    `json:"call_id"`
	Direction    string    `json:"direction"`
	StartedAt    time.Time `json:"started_at"`
	AnsweredAt   time.Time `json:"answered_at,omitzero"`
	EndedAt      time.Time `json:"ended_at,omitzero"`
	ClientPhone  string    `json:"client_phone"`
	LinePhone    string    `json:"line_phone"`
	Manager      string    `json:"manager"`
	Status       string    `json:"status"`
	RecordingURL string    `json:"recording_url,omitempty"`
}

// delivery is a snapshot and the moment the PBX sends it.
type delivery struct {
	due  time.Time
	snap snapshot
}

// deliveries returns what the PBX reports about c and when. An answered call
// is reported when it is answered (still in progress: no ended_at, no
// recording) and when it ends; any other call only when it ends. A call with
// c.late set has its answer snapshot arrive that long after the final one,
// as if the PBX had retried it. Nothing is due before the moment it
// describes.
func (c plannedCall) deliveries() []delivery {
	final := snapshot{
		CallID:       c.id,
		Direction:    c.direction.String(),
		StartedAt:    c.started,
		AnsweredAt:   c.answered,
		EndedAt:      c.ended,
		ClientPhone:  c.client,
		LinePhone:    c.line,
		Manager:      c.manager,
		Status:       c.status.String(),
		RecordingURL: c.recording,
	}
	if c.status != call.StatusAnswered {
		return []delivery{{due: c.ended, snap: final}}
	}
	inProgress := final
	inProgress.EndedAt, inProgress.RecordingURL = time.Time{}, ""
	if c.late > 0 {
		return []delivery{{due: c.ended, snap: final}, {due: c.ended.Add(c.late), snap: inProgress}}
	}
	return []delivery{{due: c.answered, snap: inProgress}, {due: c.ended, snap: final}}
}
