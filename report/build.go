package report

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/callpulse/callpulse/analytics"
)

// Defaults of BuildOptions.
const (
	DefaultQueueSize   = 10
	DefaultMissedDays  = 7
	DefaultTopRefusals = 5
	DefaultCallbackSLA = 15 * time.Minute
	// DefaultBuildTimeout bounds the queries of one report: a hung
	// ClickHouse fails the report (and the next run retries it) instead of
	// holding the nightly job.
	DefaultBuildTimeout = 10 * time.Minute
	daysPerWeek         = 7
)

// BuildOptions are the data sources and settings of a Builder.
type BuildOptions struct {
	Talk   TalkTimer // required
	Funnel Funnel    // required
	Missed MissedCalls
	Queue  CallQueue

	Team     *analytics.Team   // required
	Targets  analytics.Targets // shares of A, B and C
	Location *time.Location    // whose midnights bound days; required

	// WeeklyOnMonday adds the week ending on Sunday to Monday's report
	// (the report of a Sunday).
	WeeklyOnMonday bool
	// SLA is the callback time a missed call and a new lead should be
	// answered within (DefaultCallbackSLA when 0).
	SLA time.Duration
	// QueueSize is how many queue leads to show (DefaultQueueSize when 0).
	QueueSize int
	// MissedDays is how many days, ending on the report's day, open missed
	// calls are looked for (DefaultMissedDays when 0).
	MissedDays int
	// TopRefusals is how many refusal reasons to show (DefaultTopRefusals
	// when 0).
	TopRefusals int
	// Timeout bounds one Build (DefaultBuildTimeout when 0).
	Timeout time.Duration
	// Now is the clock that ages missed calls; nil means time.Now.
	Now func() time.Time
}

// Builder gathers a report's numbers from the data sources.
type Builder struct{ o BuildOptions }

// NewBuilder checks the options and fills defaults.
func NewBuilder(o BuildOptions) (*Builder, error) {
	switch {
	case o.Talk == nil || o.Funnel == nil:
		return nil, errors.New("report builder: talk time and funnel sources are required")
	case o.Team == nil:
		return nil, errors.New("report builder: team is required")
	case o.Location == nil:
		return nil, errors.New("report builder: location is required")
	}
	if o.SLA <= 0 {
		o.SLA = DefaultCallbackSLA
	}
	if o.QueueSize <= 0 {
		o.QueueSize = DefaultQueueSize
	}
	if o.MissedDays <= 0 {
		o.MissedDays = DefaultMissedDays
	}
	if o.TopRefusals <= 0 {
		o.TopRefusals = DefaultTopRefusals
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultBuildTimeout
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Builder{o: o}, nil
}

// Location is the time zone of the report's days.
func (b *Builder) Location() *time.Location { return b.o.Location }

// Build gathers the report of one calendar day (any instant in it) for a
// scope. Errors name the query that failed. It takes at most the
// builder's Timeout.
func (b *Builder) Build(ctx context.Context, day time.Time, scope Scope) (*Report, error) {
	ctx, cancel := context.WithTimeout(ctx, b.o.Timeout)
	defer cancel()
	var mgr analytics.Manager
	if !scope.Team() {
		m, ok := b.o.Team.Lookup(scope.Manager)
		if !ok || m.ID != scope.Manager {
			return nil, fmt.Errorf("build report: %q is not a configured manager id", scope.Manager)
		}
		mgr = m
	}
	p := analytics.Day(day, b.o.Location)
	rep := &Report{
		Day: p, Scope: scope, ManagerName: mgr.Name, Timezone: b.o.Location.String(),
		GeneratedAt: b.o.Now(), Targets: b.o.Targets,
	}
	var err error
	if rep.Daily, err = b.section(ctx, p, shift(p, -1), mgr); err != nil {
		return nil, err
	}
	if b.o.WeeklyOnMonday && p.From.Weekday() == time.Sunday {
		week := analytics.Period{From: shift(p, -(daysPerWeek - 1)).From, To: p.To}
		s, err := b.section(ctx, week, shift(week, -daysPerWeek), mgr)
		if err != nil {
			return nil, err
		}
		rep.Weekly = &s
	}
	if b.o.Missed != nil {
		since := analytics.Period{From: shift(p, -(b.o.MissedDays - 1)).From, To: p.To}
		if rep.Missed, err = b.missed(ctx, since, mgr, rep.GeneratedAt); err != nil {
			return nil, err
		}
	}
	if b.o.Queue != nil {
		if rep.Queue, err = b.queue(ctx, mgr); err != nil {
			return nil, err
		}
	}
	return rep, nil
}

// section gathers one period's numbers; mgr is the scoped manager (zero
// for the team).
func (b *Builder) section(ctx context.Context, p, prev analytics.Period, mgr analytics.Manager) (Section, error) {
	s := Section{Period: p, Previous: prev}
	rows, err := b.o.Talk.TalkTime(ctx, p, mgr.Extensions)
	if err != nil {
		return s, fmt.Errorf("report talk time %s: %w", periodString(p), err)
	}
	s.Talk, s.TalkTotal = b.talk(p, rows, mgr)

	if mgr.ID == "" {
		now, err := b.o.Funnel.Sources(ctx, p)
		if err != nil {
			return s, fmt.Errorf("report sources %s: %w", periodString(p), err)
		}
		before, err := b.o.Funnel.Sources(ctx, prev)
		if err != nil {
			return s, fmt.Errorf("report sources %s: %w", periodString(prev), err)
		}
		s.Sources = compareSources(p, now, prev, before)
	}

	refusals, err := b.o.Funnel.Refusals(ctx, p)
	if err != nil {
		return s, fmt.Errorf("report refusals %s: %w", periodString(p), err)
	}
	for _, r := range analytics.BuildRefusalReport(p, refusals, b.o.Team).Refusals {
		if mgr.ID == "" || r.Manager == mgr.ID {
			s.Refusals = append(s.Refusals, r)
		}
	}
	s.Reasons = topReasons(s.Refusals, b.o.TopRefusals)

	if b.o.Missed != nil {
		speed, err := b.o.Missed.SpeedToLead(ctx, p, b.o.SLA)
		if err != nil {
			return s, fmt.Errorf("report speed to lead %s: %w", periodString(p), err)
		}
		s.Speed = b.speed(speed, mgr)
	}
	return s, nil
}

// talk folds talk rows into managers, adds configured managers without
// calls, and orders the lines furthest from target first.
func (b *Builder) talk(p analytics.Period, rows []analytics.TalkRow, mgr analytics.Manager) ([]TalkLine, TalkLine) {
	rep := analytics.BuildTalkReport(p, rows, b.o.Team, b.o.Targets)
	seen := map[string]bool{}
	total := TalkLine{TalkLine: analytics.TalkLine{Seconds: map[string]uint64{}, Share: map[string]float64{}}}
	var lines []TalkLine
	for _, l := range rep.Managers {
		seen[l.Manager] = true
		lines = append(lines, TalkLine{TalkLine: l, Distance: distance(l.Share, b.o.Targets)})
		for c, sec := range l.Seconds {
			total.Seconds[c] += sec
		}
		total.TotalSeconds += l.TotalSeconds
		total.Calls += l.Calls
	}
	ids := b.o.Team.IDs()
	if mgr.ID != "" {
		ids = []string{mgr.ID}
	}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		m, _ := b.o.Team.Lookup(id)
		empty := analytics.TalkLine{Manager: id, Name: m.Name, Seconds: map[string]uint64{}, Share: map[string]float64{}}
		for _, c := range shareCategories {
			empty.Seconds[string(c)], empty.Share[string(c)] = 0, 0
		}
		lines = append(lines, TalkLine{TalkLine: empty})
	}
	for _, c := range shareCategories {
		share := 0.0
		if total.TotalSeconds > 0 {
			share = float64(total.Seconds[string(c)]) / float64(total.TotalSeconds)
		}
		total.Share[string(c)] = share
	}
	total.Distance = distance(total.Share, b.o.Targets)
	sort.SliceStable(lines, func(i, j int) bool {
		a, c := lines[i], lines[j]
		if (a.TotalSeconds == 0) != (c.TotalSeconds == 0) {
			return a.TotalSeconds > 0
		}
		if a.Distance != c.Distance {
			return a.Distance > c.Distance
		}
		return a.Manager < c.Manager
	})
	return lines, total
}

// distance is the total variation distance between shares and targets.
func distance(share map[string]float64, targets analytics.Targets) float64 {
	var sum float64
	for _, c := range shareCategories {
		sum += math.Abs(share[string(c)] - targets[c])
	}
	if sum == 0 {
		return 0
	}
	return sum / 2
}

// compareSources pairs each source of the period with its numbers in the
// previous period, and totals both.
func compareSources(p analytics.Period, now []analytics.SourceRow, prev analytics.Period, before []analytics.SourceRow) *SourcesSection {
	cur := analytics.BuildSourcesReport(p, now).Sources
	old := map[string]analytics.SourceLine{}
	for _, l := range analytics.BuildSourcesReport(prev, before).Sources {
		old[l.Source] = l
	}
	s := &SourcesSection{Lines: make([]SourceChange, 0, len(cur))}
	for _, l := range cur {
		s.Lines = append(s.Lines, SourceChange{Source: l.Source, Now: l, Before: old[l.Source]})
	}
	s.Total = SourceChange{Now: sumSources(p, now), Before: sumSources(prev, before)}
	return s
}

// sumSources is the funnel of all sources together.
func sumSources(p analytics.Period, rows []analytics.SourceRow) analytics.SourceLine {
	var t analytics.SourceRow
	for _, r := range rows {
		t.Leads += r.Leads
		t.Reached += r.Reached
		t.Qualified += r.Qualified
		t.Won += r.Won
		t.Revenue += r.Revenue
	}
	return analytics.BuildSourcesReport(p, []analytics.SourceRow{t}).Sources[0]
}

// topReasons sums refusals per reason, most frequent first, at most n.
func topReasons(lines []analytics.RefusalLine, n int) []ReasonCount {
	counts := map[string]uint64{}
	for _, l := range lines {
		counts[l.Reason] += l.Count
	}
	out := make([]ReasonCount, 0, len(counts))
	for r, c := range counts {
		out = append(out, ReasonCount{Reason: r, Count: c})
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Reason < out[j].Reason
	})
	if len(out) > n {
		out = out[:n]
	}
	return out
}

// resolve maps a stored manager (id or extension) to a configured manager
// id and name; anything else is kept as the id, without a name.
func (b *Builder) resolve(stored string) (id, name string) {
	if m, ok := b.o.Team.Lookup(stored); ok {
		return m.ID, m.Name
	}
	return stored, ""
}

func (b *Builder) speed(rows []SpeedRow, mgr analytics.Manager) []SpeedLine {
	out := []SpeedLine{}
	for _, r := range rows {
		id, name := b.resolve(r.Manager)
		if mgr.ID != "" && id != mgr.ID {
			continue
		}
		out = append(out, SpeedLine{SpeedRow: r, ManagerID: id, ManagerName: name})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].ManagerID != out[j].ManagerID {
			return out[i].ManagerID < out[j].ManagerID
		}
		if out[i].Leads != out[j].Leads {
			return out[i].Leads > out[j].Leads
		}
		return out[i].Source < out[j].Source
	})
	return out
}

func (b *Builder) missed(ctx context.Context, since analytics.Period, mgr analytics.Manager, now time.Time) (*MissedSection, error) {
	calls, err := b.o.Missed.Missed(ctx, since, true, b.o.SLA)
	if err != nil {
		return nil, fmt.Errorf("report missed calls %s: %w", periodString(since), err)
	}
	s := &MissedSection{Since: since, SLA: b.o.SLA, Calls: []MissedLine{}}
	for _, c := range calls {
		if !c.Open {
			continue
		}
		id, name := b.resolve(c.Owner)
		if mgr.ID != "" && id != mgr.ID {
			continue
		}
		s.Calls = append(s.Calls, MissedLine{MissedCall: c, OwnerID: id, OwnerName: name, Age: max(now.Sub(c.At), 0)})
	}
	sort.SliceStable(s.Calls, func(i, j int) bool {
		if !s.Calls[i].At.Equal(s.Calls[j].At) {
			return s.Calls[i].At.Before(s.Calls[j].At)
		}
		return s.Calls[i].CallID < s.Calls[j].CallID
	})
	return s, nil
}

func (b *Builder) queue(ctx context.Context, mgr analytics.Manager) (*QueueSection, error) {
	q, err := b.o.Queue.Queue(ctx, mgr.ID, b.o.QueueSize)
	if err != nil {
		return nil, fmt.Errorf("report call queue: %w", err)
	}
	s := &QueueSection{Threshold: q.Threshold, ThresholdSource: q.ThresholdSource, Sample: q.Sample, Leads: []QueueLine{}}
	for _, l := range q.Leads {
		id, name := b.resolve(l.Manager)
		if mgr.ID != "" && id != mgr.ID {
			continue
		}
		s.Leads = append(s.Leads, QueueLine{QueueLead: l, ManagerID: id, ManagerName: name})
	}
	sort.SliceStable(s.Leads, func(i, j int) bool { return s.Leads[i].Score > s.Leads[j].Score })
	if len(s.Leads) > b.o.QueueSize {
		s.Leads = s.Leads[:b.o.QueueSize]
	}
	return s, nil
}

// shift moves a period by whole calendar days (lengths are kept in days,
// not hours, across DST changes).
func shift(p analytics.Period, days int) analytics.Period {
	mv := func(t time.Time) time.Time {
		return time.Date(t.Year(), t.Month(), t.Day()+days, 0, 0, 0, 0, t.Location())
	}
	return analytics.Period{From: mv(p.From), To: mv(p.To)}
}

func periodString(p analytics.Period) string {
	if p.From.Equal(p.To) {
		return p.From.Format(time.DateOnly)
	}
	return p.From.Format(time.DateOnly) + ".." + p.To.Format(time.DateOnly)
}
