package analytics

import (
	"context"
	"time"
)

// refreshMissed sets the missed-call gauges: the missed calls of the last
// missedWindowDays calendar days (today included) that are still open, and
// those of them whose SLA has run out, per owner. Owners map to configured
// manager ids, "other" for an owner not in the config, "unassigned" for
// none. Missed calls are counted, not clients: three missed calls of one
// client before a callback are three.
func (g *Gauges) refreshMissed(ctx context.Context, today Period) error {
	loc := today.From.Location()
	y, m, d := today.From.Date()
	window := Period{From: time.Date(y, m, d-(missedWindowDays-1), 0, 0, 0, 0, loc), To: today.To}
	missed, err := g.store.Missed(ctx, window, true, g.sla)
	if err != nil {
		return err
	}
	now := g.now()
	open, past := map[string]float64{}, map[string]float64{}
	for _, c := range missed {
		id := g.ownerLabel(c.Owner)
		open[id]++
		if now.Sub(c.At) > g.sla {
			past[id]++
		}
	}
	for _, id := range g.missedLabels() {
		g.missedOpen.WithLabelValues(id).Set(open[id])
		g.missedPast.WithLabelValues(id).Set(past[id])
	}
	return nil
}

// missedLabels are the manager label values of the missed-call gauges.
func (g *Gauges) missedLabels() []string {
	return append(g.team.IDs(), otherManager, unassignedManager)
}

// ownerLabel is the manager label of a stored owner (extension or id).
func (g *Gauges) ownerLabel(owner string) string {
	if owner == "" {
		return unassignedManager
	}
	if m, ok := g.team.Lookup(owner); ok {
		return m.ID
	}
	return otherManager
}

// refreshLeads sets the lead gauges from the funnel of today and of this
// month so far (calendar month in the store's time zone, today included).
func (g *Gauges) refreshLeads(ctx context.Context, today Period) error {
	y, m, _ := today.From.Date()
	month := Period{From: time.Date(y, m, 1, 0, 0, 0, 0, today.From.Location()), To: today.To}
	monthRows, err := g.store.Sources(ctx, month)
	if err != nil {
		return err
	}
	todayRows, err := g.store.Sources(ctx, today)
	if err != nil {
		return err
	}

	g.mu.Lock()
	defer g.mu.Unlock()
	// Month first: its rows, sorted by leads, decide which sources of the
	// data get a label of their own while there is room.
	for _, p := range []struct {
		name string
		rows []SourceRow
	}{{"month", monthRows}, {"today", todayRows}} {
		leads, won := map[string]float64{}, map[string]float64{}
		for _, r := range p.rows {
			label := g.sourceLabelOf(r.Source)
			leads[label] += float64(r.Leads)
			won[label] += float64(r.Won)
		}
		for src := range g.sourceLabel {
			g.leads.WithLabelValues(src, p.name).Set(leads[src])
			g.leadsWon.WithLabelValues(src, p.name).Set(won[src])
		}
	}
	return nil
}

// sourceLabelOf returns the label of an ad source, admitting a new source
// while fewer than maxExtra have been; g.mu must be held.
func (g *Gauges) sourceLabelOf(src string) string {
	if _, ok := g.sourceLabel[src]; ok {
		return src
	}
	if g.extra >= g.maxExtra {
		return otherSource
	}
	g.extra++
	g.admitSource(src)
	return src
}

// admitSource gives src a label of its own and creates its series at 0;
// g.mu must be held or g not yet shared.
func (g *Gauges) admitSource(src string) {
	g.sourceLabel[src] = struct{}{}
	for _, p := range leadPeriods {
		g.leads.WithLabelValues(src, p)
		g.leadsWon.WithLabelValues(src, p)
	}
}
