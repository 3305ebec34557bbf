package faults

import (
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// WriteTable prints a Markdown table with one row per scenario — webhook
// requests sent and acknowledged (2xx); the distinct acknowledged webhooks
// and how many of them are in ClickHouse, duplicated or lost; the calls the
// CRM should have and how many it has, duplicated or lost; anything wrong
// — followed by each scenario's notes and failures.
func WriteTable(w io.Writer, results []Result) error {
	rows := [][]string{{"scenario", "sent", "acked", "webhooks", "stored", "duplicates", "lost",
		"crm want", "crm have", "crm dup", "crm lost", "wrong", "time", "result"}}
	for _, r := range results {
		c := r.Counts
		row := []string{r.Name}
		if r.Err != nil {
			for range 11 {
				row = append(row, "-")
			}
		} else {
			for _, n := range []int{r.Ledger.Sent, r.Ledger.Acked, c.Webhooks, c.Stored, c.Duplicates, c.Lost,
				c.CRMWant, c.CRMHave, c.CRMDup, c.CRMLost, c.Wrong} {
				row = append(row, strconv.Itoa(n))
			}
		}
		rows = append(rows, append(row, r.Elapsed.Round(time.Second).String(), verdict(r)))
	}
	widths := make([]int, len(rows[0]))
	for _, row := range rows {
		for i, cell := range row {
			widths[i] = max(widths[i], len(cell))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		for i, cell := range cells {
			if i == 0 {
				fmt.Fprintf(&b, "| %-*s ", widths[i], cell)
			} else {
				fmt.Fprintf(&b, "| %*s ", widths[i], cell)
			}
		}
		b.WriteString("|\n")
	}
	line(rows[0])
	for i, wd := range widths {
		dashes := strings.Repeat("-", wd)
		if i > 0 {
			dashes = dashes[1:] + ":"
		}
		fmt.Fprintf(&b, "| %s ", dashes)
	}
	b.WriteString("|\n")
	for _, row := range rows[1:] {
		line(row)
	}
	for _, r := range results {
		var notes []string
		if r.Err != nil {
			notes = append(notes, "error: "+r.Err.Error())
		}
		notes = append(notes, r.Notes...)
		notes = append(notes, r.Counts.Examples...)
		if len(notes) > 0 {
			fmt.Fprintf(&b, "\n%s:\n", r.Name)
			for _, n := range notes {
				fmt.Fprintf(&b, "  - %s\n", n)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
