package report

import (
	"fmt"
	"strings"
	"time"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/client"
)

// A document is the report laid out in words: parts (the day, the week,
// "as of now") of blocks, each a title, notes, an optional chart and an
// optional table whose cells are already formatted. The HTML and the text
// template render the same document, so both parts of the e-mail always
// say the same thing.
type document struct {
	Lang       string
	Subject    string
	Heading    string
	Subheading string
	Parts      []part
	Footer     []string
	Images     []Image
}

type part struct {
	Title  string
	Blocks []block
}

type block struct {
	Title string
	Notes []string
	Image *Image
	Table *table
}

type table struct {
	Head []string
	// Right marks the columns that hold numbers (right-aligned).
	Right []bool
	Rows  [][]string
	Foot  []string // a totals row, or nil
}

// newDocument lays out a report in a language, drawing its charts.
func newDocument(r *Report, lang string) (*document, error) {
	f := newFormat(lang, r.Day.From.Location())
	d := &document{Lang: lang}
	day := f.Date(r.Day.From)
	switch {
	case !r.Scope.Team():
		d.Subject = fmt.Sprintf(f.t.SubjectManager, day, displayName(r.ManagerName, r.Scope.Manager))
	case r.Weekly != nil:
		d.Subject = fmt.Sprintf(f.t.SubjectWeek, day, f.Period(r.Weekly.Period))
	default:
		d.Subject = fmt.Sprintf(f.t.Subject, day)
	}
	d.Heading = fmt.Sprintf(f.t.Heading, day)
	who := f.t.Team
	if !r.Scope.Team() {
		who = displayName(r.ManagerName, r.Scope.Manager)
	}
	d.Subheading = who + " · " + fmt.Sprintf(f.t.Generated, f.Time(r.GeneratedAt), r.Timezone)

	p, err := d.section(f, r, &r.Daily, fmt.Sprintf(f.t.DayTitle, day), "")
	if err != nil {
		return nil, err
	}
	d.Parts = append(d.Parts, p)
	if r.Weekly != nil {
		p, err := d.section(f, r, r.Weekly, fmt.Sprintf(f.t.WeekTitle, f.Period(r.Weekly.Period)), "week-")
		if err != nil {
			return nil, err
		}
		d.Parts = append(d.Parts, p)
	}
	now := part{}
	now.Blocks = append(now.Blocks, missedBlock(f, r.Missed), queueBlock(f, r.Queue))
	d.Parts = append(d.Parts, now)
	d.Footer = []string{f.t.Attachments}
	return d, nil
}

// section lays out one period; prefix tells the week's images from the
// day's.
func (d *document) section(f format, r *Report, s *Section, title, prefix string) (part, error) {
	p := part{Title: title}
	date := s.Period.To.Format(time.DateOnly)

	talk := block{Title: f.t.TalkTitle, Notes: []string{f.t.TalkNote}, Table: talkTable(f, s, r.Targets, r.Scope.Team())}
	total := ""
	if r.Scope.Team() {
		total = f.t.TeamTotal
	}
	img, err := chartImage(talkChart(f, s, r.Targets, total), prefix+"talk-"+date+".png", talkAlt(f, s))
	if err != nil {
		return p, err
	}
	talk.Image = d.add(img)
	p.Blocks = append(p.Blocks, talk)

	if s.Sources == nil {
		p.Blocks = append(p.Blocks, block{Title: f.t.SourcesTitle, Notes: []string{f.t.SourcesTeamOnly}})
	} else {
		b := block{Title: f.t.SourcesTitle, Notes: []string{f.t.SourcesNote, fmt.Sprintf(f.t.Change, f.Period(s.Previous))},
			Table: sourcesTable(f, s.Sources)}
		if len(s.Sources.Lines) > 0 {
			img, err := chartImage(sourcesChart(f, s.Sources), prefix+"sources-"+date+".png", sourcesAlt(f, s.Sources))
			if err != nil {
				return p, err
			}
			b.Image = d.add(img)
		}
		p.Blocks = append(p.Blocks, b)
	}

	switch {
	case r.Missed == nil: // no missed-call source: say so once, under "now"
	case len(s.Speed) == 0:
		p.Blocks = append(p.Blocks, block{Title: f.t.SpeedTitle, Notes: []string{f.t.SpeedNone}})
	default:
		chart, alt := speedChart(f, s.Speed)
		img, err := chartImage(chart, prefix+"speed-"+date+".png", alt)
		if err != nil {
			return p, err
		}
		p.Blocks = append(p.Blocks, block{Title: f.t.SpeedTitle, Image: d.add(img), Table: speedTable(f, s.Speed)})
	}

	rb := block{Title: f.t.RefusalsTitle}
	if len(s.Reasons) == 0 {
		rb.Notes = []string{f.t.RefusalsNone}
	} else {
		rb.Table = &table{Head: []string{f.t.Reason, f.t.Deals}, Right: []bool{false, true}}
		for _, rc := range s.Reasons {
			rb.Table.Rows = append(rb.Table.Rows, []string{rc.Reason, f.Int(rc.Count)})
		}
	}
	p.Blocks = append(p.Blocks, rb)
	return p, nil
}

// add keeps an image for the e-mail and returns it for its block.
func (d *document) add(img Image) *Image {
	d.Images = append(d.Images, img)
	return &img
}

func talkTable(f format, s *Section, targets analytics.Targets, team bool) *table {
	t := &table{Head: []string{f.t.Manager, f.t.Calls, f.t.Talk}, Right: []bool{false, true, true}}
	for _, c := range shareCategories {
		name := string(c)
		if c == client.CategoryUnknown {
			name = f.t.Unknown
		} else {
			name += " (" + f.t.Target + " " + f.Dec(targets[c]*100, 0) + "%)"
		}
		t.Head, t.Right = append(t.Head, name), append(t.Right, true)
	}
	t.Head, t.Right = append(t.Head, f.t.Distance), append(t.Right, true)
	row := func(name string, l TalkLine) []string {
		if l.TotalSeconds == 0 {
			r := []string{name, f.Int(l.Calls), f.t.NoCalls}
			for range len(shareCategories) + 1 {
				r = append(r, "—")
			}
			return r
		}
		r := []string{name, f.Int(l.Calls), f.Secs(float64(l.TotalSeconds))}
		for _, c := range shareCategories {
			r = append(r, f.Pct(l.Share[string(c)]))
		}
		return append(r, f.Pct(l.Distance))
	}
	for _, l := range s.Talk {
		t.Rows = append(t.Rows, row(displayName(l.Name, l.Manager), l))
	}
	if team {
		t.Foot = row(f.t.TeamTotal, s.TalkTotal)
	}
	return t
}

func sourcesTable(f format, s *SourcesSection) *table {
	t := &table{
		Head:  []string{f.t.Source, f.t.Leads, f.t.Reached, f.t.Qualified, f.t.Won, f.t.Revenue, f.t.Unreachable},
		Right: []bool{false, true, true, true, true, true, true},
	}
	row := func(name string, c SourceChange) []string {
		n, b := c.Now, c.Before
		pair := func(now, before uint64) string { return f.Int(now) + " (" + f.Delta(now, before) + ")" }
		unreach := "—"
		if n.Leads > 0 {
			unreach = f.Pct(n.UnreachableRate)
			if b.Leads > 0 {
				unreach += " (" + f.DeltaPts(n.UnreachableRate, b.UnreachableRate) + ")"
			}
		}
		return []string{name, pair(n.Leads, b.Leads), pair(n.Reached, b.Reached), pair(n.Qualified, b.Qualified),
			pair(n.Won, b.Won), f.Money(n.Revenue) + " (" + f.DeltaMoney(n.Revenue, b.Revenue) + ")", unreach}
	}
	for _, l := range s.Lines {
		t.Rows = append(t.Rows, row(l.Source, l))
	}
	t.Foot = row(f.t.Total, s.Total)
	return t
}

func speedTable(f format, lines []SpeedLine) *table {
	t := &table{
		Head:  []string{f.t.Manager, f.t.Source, f.t.Leads, f.t.Reached, f.t.Median, f.t.P90, f.t.WithinSLA},
		Right: []bool{false, false, true, true, true, true, true},
	}
	for _, l := range lines {
		within := "—"
		if l.Leads > 0 {
			within = f.Pct(float64(l.WithinSLA) / float64(l.Leads))
		}
		median, p90 := "—", "—"
		if l.Reached > 0 {
			median, p90 = f.Secs(l.MedianSeconds), f.Secs(l.P90Seconds)
		}
		t.Rows = append(t.Rows, []string{displayName(l.ManagerName, l.ManagerID), l.Source,
			f.Int(l.Leads), f.Int(l.Reached), median, p90, within})
	}
	return t
}

// maxMissedRows is how many open missed calls the e-mail lists; the CSV
// has them all.
const maxMissedRows = 20

func missedBlock(f format, s *MissedSection) block {
	b := block{Title: f.t.MissedTitle}
	if s == nil {
		b.Notes = []string{fmt.Sprintf(f.t.Omitted, f.t.MissedTitle), fmt.Sprintf(f.t.Omitted, f.t.SpeedTitle)}
		return b
	}
	b.Notes = []string{fmt.Sprintf(f.t.MissedNote, f.Period(s.Since), f.Dur(s.SLA))}
	if len(s.Calls) == 0 {
		b.Notes = append(b.Notes, f.t.MissedNone)
		return b
	}
	b.Table = &table{Head: []string{f.t.At, f.t.Client, f.t.Source, f.t.Owner, f.t.Age}, Right: []bool{false, false, false, false, true}}
	for i, c := range s.Calls {
		if i == maxMissedRows {
			b.Notes = append(b.Notes, fmt.Sprintf(f.t.More, len(s.Calls)-maxMissedRows))
			break
		}
		b.Table.Rows = append(b.Table.Rows, []string{f.Time(c.At), c.ClientPhone, c.Source,
			displayName(c.OwnerName, c.OwnerID), f.Dur(c.Age.Truncate(time.Minute))})
	}
	return b
}

func queueBlock(f format, s *QueueSection) block {
	b := block{Title: f.t.QueueTitle}
	if s == nil {
		b.Notes = []string{fmt.Sprintf(f.t.Omitted, f.t.QueueTitle)}
		return b
	}
	how := s.ThresholdSource
	if s.Sample > 0 {
		how = strings.TrimSpace(how + " " + fmt.Sprintf(f.t.ThresholdLearned, s.Sample))
	}
	b.Notes = []string{fmt.Sprintf(f.t.Threshold, f.Dec(s.Threshold, 1), how)}
	if len(s.Leads) == 0 {
		b.Notes = append(b.Notes, f.t.QueueNone)
		return b
	}
	b.Table = &table{
		Head:  []string{f.t.Score, f.t.Client, f.t.Name, f.t.Category, f.t.Source, f.t.Manager, f.t.LastTouch},
		Right: []bool{true, false, false, false, false, false, false},
	}
	for _, l := range s.Leads {
		touch := "—"
		if !l.LastTouch.IsZero() {
			touch = f.Time(l.LastTouch)
		}
		b.Table.Rows = append(b.Table.Rows, []string{f.Dec(l.Score, 1), l.Phone, l.Name, l.Category, l.Source,
			displayName(l.ManagerName, l.ManagerID), touch})
	}
	return b
}
