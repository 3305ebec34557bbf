package warehouse

import (
	"context"
	"fmt"
	"time"
)

// ReportMarkState is the kind of a report_sent row.
type ReportMarkState string

// The states of a delivery attempt (migrations/0007_report_sent.sql).
const (
	ReportClaimed  ReportMarkState = "claim"    // an attempt started
	ReportSent     ReportMarkState = "sent"     // the SMTP server accepted the message
	ReportReleased ReportMarkState = "released" // the attempt gave up; others may claim
)

// ReportMark is one row of the report delivery log of a (day, recipient).
type ReportMark struct {
	Token   string
	State   ReportMarkState
	Replica string
	// At is when the row was inserted, by the ClickHouse server's clock.
	At time.Time
	// Age is the server's now() minus At, read together with the row, so
	// that leases are measured on the server's clock alone.
	Age time.Duration
}

// AddReportMark appends a row for (day, recipient) stamped with the
// server's now(). day is YYYY-MM-DD; recipient should be normalised by the
// caller (the report package lower-cases addresses). The insert is
// synchronous: once it returns, every later ReportMarks on the same server
// sees the row, which is what the claim protocol relies on.
func (db *DB) AddReportMark(ctx context.Context, day, recipient string, m ReportMark) error {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return fmt.Errorf("add report mark: day %q: want YYYY-MM-DD", day)
	}
	switch m.State {
	case ReportClaimed, ReportSent, ReportReleased:
	default:
		return fmt.Errorf("add report mark: unknown state %q", m.State)
	}
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	// INSERT ... SELECT evaluates now() on the server.
	err := db.conn.Exec(ctx, `INSERT INTO report_sent (day, recipient, token, state, replica, at)
		SELECT toDate(?), ?, ?, CAST(? AS Enum8('claim' = 1, 'sent' = 2, 'released' = 3)), ?, now()`,
		day, recipient, m.Token, string(m.State), m.Replica)
	if err != nil {
		return fmt.Errorf("insert report %s mark: %w", m.State, err)
	}
	return nil
}

// ReportMarks returns every row of (day, recipient), oldest first, each
// with its age on the server's clock.
func (db *DB) ReportMarks(ctx context.Context, day, recipient string) ([]ReportMark, error) {
	if _, err := time.Parse(time.DateOnly, day); err != nil {
		return nil, fmt.Errorf("read report marks: day %q: want YYYY-MM-DD", day)
	}
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	rows, err := db.conn.Query(ctx, `SELECT token, toString(state), replica, at,
			toInt64(now()) - toInt64(at) AS age
		FROM report_sent WHERE day = toDate(?) AND recipient = ?
		ORDER BY at, token, state`, day, recipient)
	if err != nil {
		return nil, fmt.Errorf("query report marks: %w", err)
	}
	defer rows.Close()
	var out []ReportMark
	for rows.Next() {
		var m ReportMark
		var state string
		var age int64
		if err := rows.Scan(&m.Token, &state, &m.Replica, &m.At, &age); err != nil {
			return nil, fmt.Errorf("scan report mark: %w", err)
		}
		m.State, m.Age, m.At = ReportMarkState(state), time.Duration(age)*time.Second, m.At.UTC()
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read report marks: %w", err)
	}
	return out, nil
}

// LastReportSent returns when the newest report was sent to anyone, by any
// replica; the zero time if never.
func (db *DB) LastReportSent(ctx context.Context) (time.Time, error) {
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	var n uint64
	var last time.Time
	if err := db.conn.QueryRow(ctx, `SELECT toUInt64(count()), max(at) FROM report_sent WHERE state = 'sent'`).
		Scan(&n, &last); err != nil {
		return time.Time{}, fmt.Errorf("query last report sent: %w", err)
	}
	if n == 0 {
		return time.Time{}, nil
	}
	return last.UTC(), nil
}
