package report

import (
	"context"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/scoring"
)

// AnalyticsMissed adapts the missed-call analytics of *analytics.Store to
// MissedCalls (the row types are the same field for field).
type AnalyticsMissed struct {
	Store *analytics.Store
	Team  *analytics.Team
}

// Missed implements MissedCalls.
func (a AnalyticsMissed) Missed(ctx context.Context, p analytics.Period, openOnly bool, sla time.Duration) ([]MissedCall, error) {
	rows, err := a.Store.Missed(ctx, p, openOnly, sla)
	out := make([]MissedCall, len(rows))
	for i, r := range rows {
		out[i] = MissedCall(r)
	}
	return out, err
}

// SpeedToLead implements MissedCalls.
func (a AnalyticsMissed) SpeedToLead(ctx context.Context, p analytics.Period, sla time.Duration) ([]SpeedRow, error) {
	rows, err := a.Store.SpeedToLead(ctx, p, sla, a.Team)
	out := make([]SpeedRow, len(rows))
	for i, r := range rows {
		out[i] = SpeedRow(r)
	}
	return out, err
}

// ScoringQueue adapts *scoring.Scorer to CallQueue. The scorer has no
// manager filter, so a manager's queue is cut from the top MaxQueueLimit
// leads.
type ScoringQueue struct {
	Scorer *scoring.Scorer
	Team   *analytics.Team
}

// Queue implements CallQueue: leads at or above the threshold.
func (s ScoringQueue) Queue(ctx context.Context, manager string, limit int) (Queue, error) {
	n := limit
	if manager != "" {
		n = scoring.MaxQueueLimit
	}
	q, err := s.Scorer.Queue(ctx, n, false)
	if err != nil {
		return Queue{}, err
	}
	out := Queue{Threshold: q.Threshold.Value, ThresholdSource: string(q.Threshold.Source), Sample: q.Threshold.Sample}
	for _, l := range q.Leads {
		if manager != "" {
			if m, ok := s.Team.Lookup(l.Manager); !ok || m.ID != manager {
				continue
			}
		}
		out.Leads = append(out.Leads, QueueLead{Phone: l.Phone, Name: l.Name, Source: l.Source, Manager: l.Manager,
			Category: string(l.Category), Score: float64(l.Score), LastTouch: l.LastTouchAt})
		if len(out.Leads) == limit {
			break
		}
	}
	return out, nil
}
