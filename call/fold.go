package call

import "time"

// Call is the folded view of all events of one call. The ClickHouse view
// `calls` (warehouse/migrations) applies exactly these rules in SQL; tests
// check that both agree.
type Call struct {
	Provider     string
	CallID       string
	Direction    Direction
	StartedAt    time.Time
	AnsweredAt   time.Time
	EndedAt      time.Time
	ClientPhone  string
	LinePhone    string
	Manager      string
	Status       Status
	TalkSeconds  uint32
	RecordingURL string
	RecordingRef string
}

// Fold merges events of one call. Every rule is commutative, associative and
// idempotent (min, max, max by a total order, or the first non-zero of two
// maxima), so the result does not depend on delivery order or on
// duplicates:
//
//   - Direction, Status, ClientPhone, LinePhone, RecordingURL, RecordingRef:
//     the largest value (empty loses to anything).
//   - StartedAt, AnsweredAt: the earliest non-zero time. Times taken from
//     an event's arrival (Gravitel's cmd=event, Zadarma's NOTIFY_ANSWER)
//     are safe under this rule: a re-delivery or a replay arrives after
//     the delivery already stored, so it is never the earliest. (A PBX
//     retrying a request that was refused makes them late, which can only
//     shorten talk time.)
//   - EndedAt: the latest end on the PBX's clock (ArrivalEnd false) if the
//     call has one, else the latest arrival-time end (ArrivalEnd true).
//     Arrival-time ends are the opposite case: a re-delivery or a replay
//     arrives later and would move the end, and talk time with it, so they
//     stand in only until the PBX reports the end itself (Gravitel's
//     history).
//   - Manager: the value with the highest (ManagerRank, Manager).
//   - TalkSeconds: see Talk.
//
// Events of other calls must not be passed.
func Fold(events []Event) Call {
	var c Call
	var rank uint8
	var reported uint32
	var arrivalEnd time.Time
	for i, e := range events {
		if i == 0 {
			c.Provider, c.CallID = e.Provider, e.CallID
		}
		c.Direction = max(c.Direction, e.Direction)
		c.Status = max(c.Status, e.Status)
		c.ClientPhone = max(c.ClientPhone, e.ClientPhone)
		c.LinePhone = max(c.LinePhone, e.LinePhone)
		c.RecordingURL = max(c.RecordingURL, e.RecordingURL)
		c.RecordingRef = max(c.RecordingRef, e.RecordingRef)
		c.StartedAt = minTime(c.StartedAt, e.StartedAt)
		c.AnsweredAt = minTime(c.AnsweredAt, e.AnsweredAt)
		if e.ArrivalEnd {
			arrivalEnd = maxTime(arrivalEnd, e.EndedAt)
		} else {
			c.EndedAt = maxTime(c.EndedAt, e.EndedAt)
		}
		if e.Manager != "" && (e.ManagerRank > rank || (e.ManagerRank == rank && e.Manager > c.Manager)) {
			c.Manager, rank = e.Manager, e.ManagerRank
		}
		reported = max(reported, e.TalkSeconds)
	}
	if c.EndedAt.IsZero() {
		c.EndedAt = arrivalEnd
	}
	if !c.AnsweredAt.IsZero() {
		c.Status = StatusAnswered
	}
	c.TalkSeconds = Talk(c.Status, c.AnsweredAt, c.EndedAt, reported)
	return c
}

// Talk is the talk time of a folded call in whole seconds: 0 unless the call
// was answered; the provider-reported talk time if there is one; otherwise
// ended − answered (0 while the call is still going on).
func Talk(status Status, answered, ended time.Time, reported uint32) uint32 {
	if status != StatusAnswered {
		return 0
	}
	if reported > 0 {
		return reported
	}
	if answered.IsZero() || !ended.After(answered) {
		return 0
	}
	return uint32(ended.Unix() - answered.Unix())
}

func minTime(a, b time.Time) time.Time {
	switch {
	case a.IsZero():
		return b
	case b.IsZero():
		return a
	case b.Before(a):
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
