// Package importer reads the clients and deals CSV files that companies
// without a supported CRM use to give callpulse their client grading.
//
// Files have a header row, are UTF-8 (a BOM is ignored) and comma separated;
// ";" is accepted too, as Excel exports it in Russian locales. A file is
// checked whole before anything is written: one bad row rejects the file.
package importer

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strings"
)

// RowError is a problem with one row (or the header, line 1).
type RowError struct {
	Line   int
	Column string
	Msg    string
}

func (e RowError) Error() string {
	if e.Column == "" {
		return fmt.Sprintf("line %d: %s", e.Line, e.Msg)
	}
	return fmt.Sprintf("line %d: %s: %s", e.Line, e.Column, e.Msg)
}

// FileError lists every problem found in a file; none of it was applied.
type FileError struct {
	Rows []RowError
}

// maxReported bounds how many row errors a file error lists.
const maxReported = 50

func (e *FileError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d bad row(s), nothing imported", len(e.Rows))
	for i, r := range e.Rows {
		if i == maxReported {
			fmt.Fprintf(&b, "\n... and %d more", len(e.Rows)-maxReported)
			break
		}
		b.WriteString("\n")
		b.WriteString(r.Error())
	}
	return b.String()
}

// table is a parsed CSV file: column index by name and rows with their line.
type table struct {
	col  map[string]int
	rows []row
}

type row struct {
	line   int
	fields []string
}

func (t *table) get(r row, name string) string {
	i, ok := t.col[name]
	if !ok || i >= len(r.fields) {
		return ""
	}
	return strings.TrimSpace(r.fields[i])
}

// readTable parses a CSV with a header naming a subset of known columns (in
// any order); required columns must be present.
func readTable(in io.Reader, known, required []string) (*table, error) {
	br := bufio.NewReader(in)
	if b, _ := br.Peek(3); bytes.Equal(b, []byte("\ufeff")) {
		_, _ = br.Discard(3)
	}
	head, err := br.Peek(4096)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return nil, fmt.Errorf("read csv: %w", err)
	}
	r := csv.NewReader(br)
	firstLine, _, _ := bytes.Cut(head, []byte("\n"))
	if bytes.Count(firstLine, []byte(";")) > bytes.Count(firstLine, []byte(",")) {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1

	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, &FileError{Rows: []RowError{{Line: 1, Msg: "empty file: want a header row"}}}
	}
	if err != nil {
		return nil, &FileError{Rows: []RowError{{Line: 1, Msg: err.Error()}}}
	}
	t := &table{col: map[string]int{}}
	var bad []RowError
	isKnown := map[string]bool{}
	for _, k := range known {
		isKnown[k] = true
	}
	for i, h := range header {
		h = strings.ToLower(strings.TrimSpace(h))
		if _, dup := t.col[h]; dup {
			bad = append(bad, RowError{Line: 1, Msg: fmt.Sprintf("column %q appears twice", h)})
			continue
		}
		if !isKnown[h] {
			bad = append(bad, RowError{Line: 1, Msg: fmt.Sprintf("unknown column %q (known: %s)", h, strings.Join(known, ","))})
			continue
		}
		t.col[h] = i
	}
	for _, req := range required {
		if _, ok := t.col[req]; !ok {
			bad = append(bad, RowError{Line: 1, Msg: fmt.Sprintf("missing column %q", req)})
		}
	}
	if len(bad) > 0 {
		return nil, &FileError{Rows: bad}
	}
	for {
		fields, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &FileError{Rows: []RowError{{Line: pe.Line, Msg: pe.Err.Error()}}}
			}
			return nil, fmt.Errorf("read csv: %w", err)
		}
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue // blank line
		}
		if len(fields) != len(header) {
			bad = append(bad, RowError{Line: line, Msg: fmt.Sprintf("%d fields, header has %d", len(fields), len(header))})
			continue
		}
		t.rows = append(t.rows, row{line: line, fields: fields})
	}
	if len(bad) > 0 {
		return nil, &FileError{Rows: bad}
	}
	return t, nil
}
