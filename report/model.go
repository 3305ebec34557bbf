package report

import (
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/client"
)

// Scope is whose numbers a report shows: the whole team (Manager == "") or
// one configured manager's own.
type Scope struct {
	Manager string // a configured manager id; "" for the whole team
}

// Team reports whether the scope is the whole team.
func (s Scope) Team() bool { return s.Manager == "" }

// Report is the numbers of one e-mail: the day, on Mondays the week, and
// the sections that are "as of now" (open missed calls, the call queue).
// Build makes it; Render turns it into an e-mail.
type Report struct {
	Day         analytics.Period // the report's day (From == To)
	Scope       Scope
	ManagerName string // the scoped manager's name; "" for the team
	Timezone    string
	GeneratedAt time.Time
	Targets     analytics.Targets

	Daily  Section
	Weekly *Section // the week ending on Day, on Mondays' reports; else nil

	// Missed is nil when the build has no missed-call source.
	Missed *MissedSection
	// Queue is nil when the build has no call-queue source.
	Queue *QueueSection
}

// Section is the numbers of one period, compared with the period before.
type Section struct {
	Period, Previous analytics.Period

	// Talk is talk time per manager, the managers furthest from the
	// targets first; configured managers without calls come last.
	Talk []TalkLine
	// TalkTotal sums every line (the team's share).
	TalkTotal TalkLine

	// Sources is the ad-source funnel with the previous period's numbers;
	// nil in a manager's report (the funnel is the team's).
	Sources *SourcesSection
	// Speed is speed to lead per manager and source; nil without a
	// missed-call source.
	Speed []SpeedLine
	// Reasons are the top refusal reasons (summed over sources and
	// managers); Refusals the raw counts behind them.
	Reasons  []ReasonCount
	Refusals []analytics.RefusalLine
}

// TalkLine is one manager's talk time and how far it is from the targets.
type TalkLine struct {
	analytics.TalkLine
	// Distance is the total variation distance between the shares and the
	// targets: ½·Σ|share − target| over A, B, C and unknown (whose target
	// is 0). 0 is on target; 1 is as far as it gets. 0 without calls.
	Distance float64
}

// SourcesSection is the funnel per source now and in the previous period.
type SourcesSection struct {
	Lines []SourceChange // the period's sources by leads, descending
	Total SourceChange
}

// SourceChange is one source's funnel in the period (Now) and the period
// before (Before; zero when the source had no leads then).
type SourceChange struct {
	Source      string
	Now, Before analytics.SourceLine
}

// SpeedLine is a SpeedRow with the manager resolved.
type SpeedLine struct {
	SpeedRow
	ManagerID, ManagerName string
}

// ReasonCount is the number of deals lost for one reason.
type ReasonCount struct {
	Reason string
	Count  uint64
}

// MissedSection lists missed calls not yet called back, oldest first.
type MissedSection struct {
	Since analytics.Period // the days looked at
	SLA   time.Duration
	Calls []MissedLine
}

// MissedLine is an open missed call with its owner resolved and its age at
// GeneratedAt.
type MissedLine struct {
	MissedCall
	OwnerID, OwnerName string
	Age                time.Duration
}

// QueueSection is the top of the call queue.
type QueueSection struct {
	Threshold       float64
	ThresholdSource string
	Sample          int
	Leads           []QueueLine
}

// QueueLine is a queue lead with its manager resolved.
type QueueLine struct {
	QueueLead
	ManagerID, ManagerName string
}

// shareCategories are the categories a share is computed over, in display
// order.
var shareCategories = []client.Category{client.CategoryA, client.CategoryB, client.CategoryC, client.CategoryUnknown}
