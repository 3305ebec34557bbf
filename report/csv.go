package report

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"time"
)

// The CSV attachments hold the raw rows behind the tables, for a
// spreadsheet: UTF-8 with a byte-order mark (without one Excel reads
// Cyrillic as mojibake), comma-separated, a header of English column names
// that match the API's JSON fields, numbers unformatted (seconds, ratios
// 0..1, money with a dot), instants in RFC 3339 in the report's zone.

// csvBOM is the UTF-8 byte-order mark.
const csvBOM = "\ufeff"

type csvFile struct {
	name string
	rows [][]string
}

func csvFiles(r *Report) ([]Attachment, error) {
	var files []csvFile
	files = append(files, sectionCSV(r, &r.Daily, "")...)
	if r.Weekly != nil {
		files = append(files, sectionCSV(r, r.Weekly, "week-")...)
	}
	day := r.Day.From.Format(time.DateOnly)
	if r.Missed != nil {
		rows := [][]string{{"at", "provider", "call_id", "client_phone", "source", "owner", "owner_name", "age_seconds"}}
		for _, c := range r.Missed.Calls {
			rows = append(rows, []string{c.At.In(r.Day.From.Location()).Format(time.RFC3339), c.Provider, c.CallID,
				c.ClientPhone, c.Source, c.OwnerID, c.OwnerName, strconv.FormatInt(int64(c.Age/time.Second), 10)})
		}
		files = append(files, csvFile{"missed-" + day + ".csv", rows})
	}
	if r.Queue != nil {
		rows := [][]string{{"score", "phone", "name", "category", "source", "manager", "manager_name", "last_touch", "threshold"}}
		for _, l := range r.Queue.Leads {
			touch := ""
			if !l.LastTouch.IsZero() {
				touch = l.LastTouch.In(r.Day.From.Location()).Format(time.RFC3339)
			}
			rows = append(rows, []string{ftoa(l.Score), l.Phone, l.Name, l.Category, l.Source, l.ManagerID, l.ManagerName,
				touch, ftoa(r.Queue.Threshold)})
		}
		files = append(files, csvFile{"queue-" + day + ".csv", rows})
	}
	out := make([]Attachment, 0, len(files))
	for _, f := range files {
		var b bytes.Buffer
		b.WriteString(csvBOM)
		w := csv.NewWriter(&b)
		if err := w.WriteAll(f.rows); err != nil {
			return nil, fmt.Errorf("write %s: %w", f.name, err)
		}
		out = append(out, Attachment{Name: f.name, ContentType: "text/csv; charset=utf-8", Data: b.Bytes()})
	}
	return out, nil
}

func sectionCSV(r *Report, s *Section, prefix string) []csvFile {
	date := s.Period.To.Format(time.DateOnly)
	from, to := s.Period.From.Format(time.DateOnly), s.Period.To.Format(time.DateOnly)
	talk := [][]string{{"from", "to", "manager", "name", "calls", "total_seconds",
		"seconds_a", "seconds_b", "seconds_c", "seconds_unknown", "share_a", "share_b", "share_c", "share_unknown", "distance"}}
	for _, l := range s.Talk {
		row := []string{from, to, l.Manager, l.Name, utoa(l.Calls), utoa(l.TotalSeconds)}
		for _, c := range shareCategories {
			row = append(row, utoa(l.Seconds[string(c)]))
		}
		for _, c := range shareCategories {
			row = append(row, ftoa(l.Share[string(c)]))
		}
		talk = append(talk, append(row, ftoa(l.Distance)))
	}
	files := []csvFile{{prefix + "talk-time-" + date + ".csv", talk}}

	if s.Sources != nil {
		rows := [][]string{{"from", "to", "source", "leads", "reached", "qualified", "won", "revenue", "unreachable_rate", "conversion",
			"prev_leads", "prev_reached", "prev_qualified", "prev_won", "prev_revenue", "prev_unreachable_rate"}}
		for _, c := range s.Sources.Lines {
			n, b := c.Now, c.Before
			rows = append(rows, []string{from, to, c.Source, utoa(n.Leads), utoa(n.Reached), utoa(n.Qualified), utoa(n.Won),
				n.Revenue.String(), ftoa(n.UnreachableRate), ftoa(n.Conversion),
				utoa(b.Leads), utoa(b.Reached), utoa(b.Qualified), utoa(b.Won), b.Revenue.String(), ftoa(b.UnreachableRate)})
		}
		files = append(files, csvFile{prefix + "sources-" + date + ".csv", rows})
	}
	if s.Speed != nil {
		rows := [][]string{{"from", "to", "manager", "name", "source", "leads", "reached", "median_seconds", "p90_seconds", "within_sla"}}
		for _, l := range s.Speed {
			rows = append(rows, []string{from, to, l.ManagerID, l.ManagerName, l.Source, utoa(l.Leads), utoa(l.Reached),
				ftoa(l.MedianSeconds), ftoa(l.P90Seconds), utoa(l.WithinSLA)})
		}
		files = append(files, csvFile{prefix + "speed-to-lead-" + date + ".csv", rows})
	}
	refusals := [][]string{{"from", "to", "reason", "source", "manager", "count"}}
	for _, l := range s.Refusals {
		refusals = append(refusals, []string{from, to, l.Reason, l.Source, l.Manager, utoa(l.Count)})
	}
	return append(files, csvFile{prefix + "refusals-" + date + ".csv", refusals})
}

func utoa(n uint64) string { return strconv.FormatUint(n, 10) }

func ftoa(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
