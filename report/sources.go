package report

import (
	"context"
	"time"

	"github.com/callpulse/callpulse/analytics"
)

// The report reads its numbers through these interfaces, declared here so
// that it works with whatever data sources a build has. *analytics.Store
// implements TalkTimer and Funnel. MissedCalls and CallQueue are optional:
// a report without one shows a note where its sections would be.

// TalkTimer answers talk time per day, extension and category.
type TalkTimer interface {
	TalkTime(ctx context.Context, p analytics.Period, extensions []string) ([]analytics.TalkRow, error)
}

// Funnel answers the ad-source funnel and the refusal reasons.
type Funnel interface {
	Sources(ctx context.Context, p analytics.Period) ([]analytics.SourceRow, error)
	Refusals(ctx context.Context, p analytics.Period) ([]analytics.RefusalRow, error)
}

// MissedCalls answers missed calls and speed to lead. The types mirror the
// analytics package's field for field, so an adapter converts each row with
// a plain conversion (report.MissedCall(row)).
type MissedCalls interface {
	// Missed returns the inbound calls missed in the period; with openOnly,
	// only those not yet called back.
	Missed(ctx context.Context, p analytics.Period, openOnly bool, sla time.Duration) ([]MissedCall, error)
	// SpeedToLead returns, per manager and source, how fast the period's
	// new leads were first reached.
	SpeedToLead(ctx context.Context, p analytics.Period, sla time.Duration) ([]SpeedRow, error)
}

// MissedCall is one missed inbound call. Owner is the manager responsible
// for calling back, as stored (a manager id or an extension).
type MissedCall struct {
	Provider, CallID, ClientPhone, Source, Owner string
	At, CalledBackAt                             time.Time
	CallbackSeconds                              int64
	Open, WithinSLA                              bool
}

// SpeedRow is speed to lead of one manager with the leads of one source.
type SpeedRow struct {
	Manager, Source           string
	Leads, Reached            uint64
	MedianSeconds, P90Seconds float64
	WithinSLA                 uint64
}

// CallQueue answers the top of the call queue: open leads by score.
type CallQueue interface {
	// Queue returns at most limit leads, highest score first. manager is a
	// configured manager id, or "" for the whole team.
	Queue(ctx context.Context, manager string, limit int) (Queue, error)
}

// Queue is the top of the call queue and the score threshold it is cut at.
type Queue struct {
	Threshold float64
	// ThresholdSource says where the threshold comes from (e.g. "learned"
	// from converted leads, or the configured "fallback").
	ThresholdSource string
	// Sample is the number of converted leads the threshold was learned on.
	Sample int
	Leads  []QueueLead
}

// QueueLead is one lead in the call queue. Manager is as stored (a manager
// id or an extension).
type QueueLead struct {
	Phone, Name, Source, Manager, Category string
	Score                                  float64
	LastTouch                              time.Time
}
