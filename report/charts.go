package report

import (
	"fmt"
	"image/color"
	"strings"

	"github.com/callpulse/callpulse/client"
)

// Image is an inline chart of the e-mail.
type Image struct {
	Name      string // file name, e.g. talk-2026-11-10.png
	ContentID string // without angle brackets; the HTML refers to cid:ContentID
	Alt       string
	PNG       []byte
	Width     int // CSS pixels to show it at
	Height    int
}

var categoryColors = map[client.Category]colorName{
	client.CategoryA: {colorA, "A"}, client.CategoryB: {colorB, "B"},
	client.CategoryC: {colorC, "C"}, client.CategoryUnknown: {colorUnknown, ""},
}

type colorName struct {
	c    color.RGBA
	name string
}

// talkChart draws each manager's talk time split by category, with the
// target split on top and the A target marked.
func talkChart(f format, s *Section, targets map[client.Category]float64, title string) barChart {
	c := barChart{Max: 1, Marker: targets[client.CategoryA], Ticks: shareTicks(f)}
	target := barRow{Label: f.t.TargetRow, Bold: true}
	for _, cat := range shareCategories[:3] {
		target.Segments = append(target.Segments, segment{Value: targets[cat], Color: categoryColors[cat].c, Text: f.Dec(targets[cat]*100, 0) + "%"})
	}
	c.Rows = append(c.Rows, target)
	row := func(label string, bold bool, l TalkLine) barRow {
		r := barRow{Label: label, Bold: bold}
		if l.TotalSeconds == 0 {
			r.Note = f.t.NoCalls
			return r
		}
		for _, cat := range shareCategories {
			sh := l.Share[string(cat)]
			r.Segments = append(r.Segments, segment{Value: sh, Color: categoryColors[cat].c, Text: f.Dec(sh*100, 0) + "%"})
		}
		return r
	}
	if title != "" {
		c.Rows = append(c.Rows, row(title, true, s.TalkTotal))
	}
	for _, l := range s.Talk {
		c.Rows = append(c.Rows, row(displayName(l.Name, l.Manager), false, l))
	}
	for _, cat := range shareCategories {
		label := categoryColors[cat].name
		if cat == client.CategoryUnknown {
			label = f.t.Unknown
		}
		c.Legend = append(c.Legend, legendItem{Color: categoryColors[cat].c, Label: label})
	}
	c.Legend = append(c.Legend, legendItem{Color: colorMarker, Label: f.t.Legend + " A"})
	return c
}

// talkAlt describes the talk chart in words.
func talkAlt(f format, s *Section) string {
	parts := []string{}
	for _, l := range append([]TalkLine{s.TalkTotal}, s.Talk...) {
		name := displayName(l.Name, l.Manager)
		if name == "" {
			name = f.t.TeamTotal
		}
		if l.TotalSeconds == 0 {
			parts = append(parts, name+": "+f.t.NoCalls)
			continue
		}
		parts = append(parts, fmt.Sprintf("%s: A %s, B %s, C %s", name,
			f.Pct(l.Share["A"]), f.Pct(l.Share["B"]), f.Pct(l.Share["C"])))
	}
	return f.t.ChartTalkAlt + ". " + strings.Join(parts, "; ") + "."
}

// sourcesChart draws leads, reached and won per source, nested.
func sourcesChart(f format, s *SourcesSection) barChart {
	var top float64
	for _, l := range s.Lines {
		top = max(top, float64(l.Now.Leads))
	}
	ticks, scale := countTicks(f, top)
	c := barChart{Max: scale, Nested: true, Ticks: ticks, Legend: []legendItem{
		{colorLight, f.t.Leads}, {colorMid, f.t.Reached}, {colorDark, f.t.Won},
	}}
	for _, l := range s.Lines {
		c.Rows = append(c.Rows, barRow{Label: l.Source, Segments: []segment{
			{Value: float64(l.Now.Leads), Color: colorLight, Text: f.Int(l.Now.Leads)},
			{Value: float64(l.Now.Reached), Color: colorMid, Text: f.Int(l.Now.Reached)},
			{Value: float64(l.Now.Won), Color: colorDark, Text: f.Int(l.Now.Won)},
		}})
	}
	return c
}

func sourcesAlt(f format, s *SourcesSection) string {
	parts := []string{}
	for _, l := range s.Lines {
		parts = append(parts, fmt.Sprintf("%s: %s %s, %s %s, %s %s", l.Source,
			f.t.Leads, f.Int(l.Now.Leads), f.t.Reached, f.Int(l.Now.Reached), f.t.Won, f.Int(l.Now.Won)))
	}
	return f.t.ChartSourcesAlt + ". " + strings.Join(parts, "; ") + "."
}

// speedChart draws, per manager, the share of new leads reached within
// the SLA.
func speedChart(f format, lines []SpeedLine) (barChart, string) {
	type agg struct {
		name           string
		leads, reached uint64
	}
	var order []string
	by := map[string]*agg{}
	for _, l := range lines {
		a := by[l.ManagerID]
		if a == nil {
			a = &agg{name: displayName(l.ManagerName, l.ManagerID)}
			by[l.ManagerID] = a
			order = append(order, l.ManagerID)
		}
		a.leads += l.Leads
		a.reached += l.WithinSLA
	}
	c := barChart{Max: 1, Ticks: shareTicks(f), Legend: []legendItem{{colorWithin, f.t.WithinSLA}}}
	parts := []string{}
	for _, id := range order {
		a := by[id]
		share := 0.0
		if a.leads > 0 {
			share = float64(a.reached) / float64(a.leads)
		}
		c.Rows = append(c.Rows, barRow{Label: a.name, Segments: []segment{
			{Value: share, Color: colorWithin, Text: f.Dec(share*100, 0) + "%"},
			{Value: 1 - share, Color: colorRest},
		}})
		parts = append(parts, fmt.Sprintf("%s: %s (%s/%s)", a.name, f.Pct(share), f.Int(a.reached), f.Int(a.leads)))
	}
	return c, f.t.ChartSpeedAlt + ". " + strings.Join(parts, "; ") + "."
}

// displayName is a manager's name, or their id when they have none.
func displayName(name, id string) string {
	if name != "" {
		return name
	}
	return id
}

// chartImage renders a chart into an Image named name.
func chartImage(c barChart, name, alt string) (Image, error) {
	png, err := c.PNG()
	if err != nil {
		return Image{}, fmt.Errorf("draw %s: %w", name, err)
	}
	w, h := c.Size()
	cid := strings.TrimSuffix(name, ".png") + "@callpulse"
	return Image{Name: name, ContentID: cid, Alt: alt, PNG: png, Width: w, Height: h}, nil
}
