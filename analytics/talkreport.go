package analytics

import (
	"sort"
	"time"

	"github.com/callpulse/callpulse/client"
)

// TalkReport is talk time by category per manager over a period, against
// the targets: the answer to "where does each manager's phone time go?".
type TalkReport struct {
	From     string             `json:"from"`
	To       string             `json:"to"`
	Timezone string             `json:"timezone"`
	Target   map[string]float64 `json:"target"`
	Managers []TalkLine         `json:"managers"`
	Days     []TalkDay          `json:"days"`
}

// TalkDay is the report for one calendar day.
type TalkDay struct {
	Date     string     `json:"date"`
	Managers []TalkLine `json:"managers"`
}

// TalkLine is one manager's talk time split by category. Share is category
// seconds / all seconds (unknown included); all shares are 0 when there
// were no seconds.
type TalkLine struct {
	Manager      string             `json:"manager"`
	Name         string             `json:"name"`
	Seconds      map[string]uint64  `json:"seconds"`
	TotalSeconds uint64             `json:"total_seconds"`
	Share        map[string]float64 `json:"share"`
	Calls        uint64             `json:"calls"`
}

// BuildTalkReport folds extension rows into managers, per day and overall.
func BuildTalkReport(p Period, rows []TalkRow, team *Team, targets Targets) TalkReport {
	rep := TalkReport{
		From:     p.From.Format(time.DateOnly),
		To:       p.To.Format(time.DateOnly),
		Timezone: p.From.Location().String(),
		Target:   map[string]float64{},
		Managers: []TalkLine{},
		Days:     []TalkDay{},
	}
	for _, c := range []client.Category{client.CategoryA, client.CategoryB, client.CategoryC} {
		rep.Target[string(c)] = targets[c]
	}
	total := newLines()
	days := map[string]*lines{}
	var dayOrder []string
	for _, r := range rows {
		m, _ := team.ByExtension(r.Extension)
		total.add(m, r)
		d := r.Day.Format(time.DateOnly)
		if days[d] == nil {
			days[d] = newLines()
			dayOrder = append(dayOrder, d)
		}
		days[d].add(m, r)
	}
	rep.Managers = total.sorted()
	sort.Strings(dayOrder)
	for _, d := range dayOrder {
		rep.Days = append(rep.Days, TalkDay{Date: d, Managers: days[d].sorted()})
	}
	return rep
}

type lines struct{ byID map[string]*TalkLine }

func newLines() *lines { return &lines{byID: map[string]*TalkLine{}} }

func (l *lines) add(m Manager, r TalkRow) {
	line := l.byID[m.ID]
	if line == nil {
		line = &TalkLine{Manager: m.ID, Name: m.Name, Seconds: map[string]uint64{}, Share: map[string]float64{}}
		for _, c := range client.Categories() {
			line.Seconds[string(c)] = 0
		}
		l.byID[m.ID] = line
	}
	line.Seconds[string(r.Category)] += r.Seconds
	line.TotalSeconds += r.Seconds
	line.Calls += r.Calls
}

func (l *lines) sorted() []TalkLine {
	out := make([]TalkLine, 0, len(l.byID))
	for _, line := range l.byID {
		for _, c := range client.Categories() {
			share := 0.0
			if line.TotalSeconds > 0 {
				share = float64(line.Seconds[string(c)]) / float64(line.TotalSeconds)
			}
			line.Share[string(c)] = share
		}
		out = append(out, *line)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Manager < out[j].Manager })
	return out
}
