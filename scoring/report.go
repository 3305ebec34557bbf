package scoring

import (
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/client"
)

// QueueReport is the JSON of GET /api/v1/queue.
type QueueReport struct {
	Threshold       float64         `json:"threshold"`
	ThresholdSource ThresholdSource `json:"threshold_source"`
	Sample          int             `json:"sample"`
	Leads           []QueueLine     `json:"leads"`
}

// QueueLine is one lead of the queue report. Manager is the configured
// manager id when the stored manager is one of their ids or extensions
// (ManagerName is then their name), else as stored, with an empty
// ManagerName.
type QueueLine struct {
	Phone          string          `json:"phone"`
	LeadID         string          `json:"lead_id"`
	Name           string          `json:"name"`
	Source         string          `json:"source"`
	Manager        string          `json:"manager"`
	ManagerName    string          `json:"manager_name"`
	Category       client.Category `json:"category"`
	Score          int64           `json:"score"`
	LastTouchAt    time.Time       `json:"last_touch_at"`
	AboveThreshold bool            `json:"above_threshold"`
}

// BuildQueueReport maps the queue's managers through the team, keeping the
// order of the leads.
func BuildQueueReport(q Queue, team *analytics.Team) QueueReport {
	rep := QueueReport{
		Threshold:       q.Threshold.Value,
		ThresholdSource: q.Threshold.Source,
		Sample:          q.Threshold.Sample,
		Leads:           make([]QueueLine, 0, len(q.Leads)),
	}
	for _, l := range q.Leads {
		line := QueueLine{
			Phone: l.Phone, LeadID: l.LeadID, Name: l.Name, Source: l.Source, Manager: l.Manager,
			Category: l.Category, Score: l.Score, LastTouchAt: l.LastTouchAt, AboveThreshold: l.AboveThreshold,
		}
		if m, ok := team.Lookup(l.Manager); ok && l.Manager != "" {
			line.Manager, line.ManagerName = m.ID, m.Name
		}
		rep.Leads = append(rep.Leads, line)
	}
	return rep
}
