package faults

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"
)

// Webhook is one call snapshot as the PBX posts it to /webhooks/generic.
type Webhook struct {
	CallID string
	// Key is the event key ingest/generic derives from the body (the first
	// 8 bytes of its SHA-256, in hex); call_events.event_key starts with it.
	Key  string
	Body []byte
}

// Call is one call the simulated PBX reports, with what the warehouse
// must fold its webhooks into.
type Call struct {
	ID    string
	Phone string // the client's number, E.164
	Known bool   // the CRM has a contact with Phone before the call
	Want  Folded
	// Webhooks are the two snapshots the PBX sends: an early one (answered
	// calls: answered, not ended yet) and the final one.
	Webhooks [2]Webhook
}

// Folded is a call as the `calls` view folds it (times in Unix seconds,
// 0 for unknown).
type Folded struct {
	CallID      string `json:"call_id"`
	Direction   string `json:"direction"`
	Status      string `json:"status"`
	StartedAt   int64  `json:"started_at"`
	AnsweredAt  int64  `json:"answered_at"`
	EndedAt     int64  `json:"ended_at"`
	TalkSeconds uint32 `json:"talk_seconds"`
}

// Traffic makes the calls of one scenario: call i is a pure function of
// the seed and i, so any request can be generated on demand.
type Traffic struct {
	Prefix string    // call ids are <Prefix>-<i>
	Now    time.Time // the host's time the calls happen around
	Seed   uint64
	// Skews are offsets of the PBX's clock from the host's; call i gets one
	// of them (none: the clocks agree).
	Skews []time.Duration
	// Zones are the UTC offsets the PBX writes its times in (none: +03:00).
	Zones []*time.Location
}

type snapshot struct {
	CallID      string  `json:"call_id"`
	Direction   string  `json:"direction"`
	StartedAt   string  `json:"started_at"`
	AnsweredAt  *string `json:"answered_at,omitempty"`
	EndedAt     *string `json:"ended_at,omitempty"`
	ClientPhone string  `json:"client_phone"`
	LinePhone   string  `json:"line_phone"`
	Manager     string  `json:"manager"`
	Status      string  `json:"status"`
}

var moscow = time.FixedZone("+03:00", 3*60*60)

// Call returns call i.
func (t Traffic) Call(i int) Call {
	rng := rand.New(rand.NewPCG(t.Seed, uint64(i)))
	c := Call{ID: fmt.Sprintf("%s-%d", t.Prefix, i), Phone: fmt.Sprintf("+7916%07d", i%10_000_000), Known: i%2 == 0}
	dir := "inbound"
	if rng.IntN(3) == 0 {
		dir = "outbound"
	}
	status := "answered"
	switch p := rng.IntN(20); {
	case p == 0:
		status = "failed"
	case p <= 2:
		status = "busy"
	case p <= 4 && dir == "inbound":
		status = "missed"
	case p <= 4:
		status = "cancelled"
	}
	var skew time.Duration
	if len(t.Skews) > 0 {
		skew = t.Skews[rng.IntN(len(t.Skews))]
	}
	zone := moscow
	if len(t.Zones) > 0 {
		zone = t.Zones[rng.IntN(len(t.Zones))]
	}
	started := t.Now.Truncate(time.Second).Add(skew - time.Duration(60+rng.IntN(600))*time.Second)
	answered := started.Add(time.Duration(3+rng.IntN(30)) * time.Second)
	ended := answered.Add(time.Duration(10+rng.IntN(900)) * time.Second)
	c.Want = Folded{CallID: c.ID, Direction: dir, Status: status, StartedAt: started.Unix(), EndedAt: ended.Unix()}
	if status == "answered" {
		c.Want.AnsweredAt = answered.Unix()
		c.Want.TalkSeconds = uint32(ended.Sub(answered) / time.Second)
	} else {
		ended = started.Add(time.Duration(5+rng.IntN(40)) * time.Second)
		c.Want.EndedAt = ended.Unix()
	}

	ts := func(at time.Time) *string { s := at.In(zone).Format(time.RFC3339); return &s }
	s := snapshot{CallID: c.ID, Direction: dir, StartedAt: *ts(started), ClientPhone: c.Phone,
		LinePhone: "+74951112233", Manager: fmt.Sprint(101 + rng.IntN(20)), Status: status}
	if status == "answered" {
		s.AnsweredAt = ts(answered)
	}
	c.Webhooks[0] = webhook(c.ID, s)
	s.EndedAt = ts(ended)
	c.Webhooks[1] = webhook(c.ID, s)
	return c
}

func webhook(callID string, s snapshot) Webhook {
	body, err := json.Marshal(s)
	if err != nil {
		panic(err) // a struct of strings
	}
	sum := sha256.Sum256(body)
	return Webhook{CallID: callID, Key: hex.EncodeToString(sum[:8]), Body: body}
}
