package analytics

import (
	"context"
	"fmt"
	"time"
)

// DefaultCallbackSLA is the callback SLA when none is configured: a missed
// call should be called back within 15 minutes.
const DefaultCallbackSLA = 15 * time.Minute

// Missed calls and callbacks. The rules, which docs/api.md repeats:
//
//   - A call's time is its start, or, if the PBX never reported one, its
//     answer, else its end (as in the funnel).
//   - Missed call: an inbound call that nobody answered and that is over:
//     it has a final status (missed, busy, failed, cancelled) or an end
//     time. A call still ringing is not missed yet. Calls without a caller
//     number (hidden numbers) are left out: there is nobody to call back.
//   - Called back: the first answered call, inbound or outbound, with the
//     same client phone that starts after the missed call started. The
//     callback time is that call's start (when the manager dialled, or the
//     client called again), not its answer. Several missed calls in a row
//     before one answered call are all called back by it, each with its own
//     delay.
//   - Within SLA: called back no later than the SLA after the missed call
//     (callback seconds <= SLA seconds). An open call is never within SLA.
//   - Owner: the client's responsible manager (clients.manager, newest
//     version), else the manager of the client's latest answered call that
//     started before the missed call, else "" (nobody).
//   - Source of a contact (a single call): the ad source of the tracking
//     line the call came in on, else the client's ad source as in the
//     funnel, else "unknown".

// callTimeExpr is a call's time, as in the funnel's contactsSQL.
const callTimeExpr = `multiIf(started_at > toDateTime(0), started_at, answered_at > toDateTime(0), answered_at, ended_at)`

// missedWhere selects missed calls: inbound, not answered, over, with a
// caller number.
const missedWhere = `direction = 'inbound' AND status != 'answered' AND (status != 'none' OR ended_at > toDateTime(0))
        AND client_phone != ''`

// contactSourceExpr is the source of one call from its line_source and the
// joined client columns of adSourceExpr.
const contactSourceExpr = `if(line_source != '', line_source, ` + adSourceExpr + `)`

// missedSQL lists the missed calls of a period with their callback and
// owner. The answered calls of the same phones (all time) are joined to
// every missed call; the callback is the earliest of them after it, the
// fallback owner the manager of the latest before it. ClickHouse 18.16
// allows one JOIN per SELECT, hence the nesting.
const missedSQL = `
SELECT provider, call_id, phone, at, called_back_at,
    if(c_manager != '', c_manager, last_manager) AS owner,
    ` + contactSourceExpr + ` AS source
FROM
(
    SELECT provider, call_id, phone, at, called_back_at, last_manager, line_source,
        first_line_source, first_deal_source, c_source, c_manager
    FROM
    (
        SELECT provider, call_id, phone, at, called_back_at, last_manager, line_source,
            first_line_source, first_deal_source
        FROM
        (
            SELECT
                provider, call_id,
                any(client_phone) AS phone,
                any(m_at) AS at,
                any(m_line_source) AS line_source,
                minIf(a_at, a_at > m_at) AS called_back_at,
                argMaxIf(a_manager, a_at, a_at < m_at AND a_manager != '') AS last_manager
            FROM
            (
                SELECT provider, call_id, client_phone, ` + callTimeExpr + ` AS m_at, line_source AS m_line_source
                FROM calls
                WHERE ` + missedWhere + ` AND m_at >= ? AND m_at < ?
            )
            ALL LEFT JOIN
            (
                SELECT client_phone, ` + callTimeExpr + ` AS a_at, manager AS a_manager
                FROM calls
                WHERE status = 'answered' AND client_phone IN
                (
                    SELECT client_phone FROM calls
                    WHERE ` + missedWhere + ` AND ` + callTimeExpr + ` >= ? AND ` + callTimeExpr + ` < ?
                )
            ) USING client_phone
            GROUP BY provider, call_id
        )
        ANY LEFT JOIN (` + contactsSQL + `) USING phone
    )
    ANY LEFT JOIN (` + latestClientsSQL + `) USING phone
)
ORDER BY at, provider, call_id`

// MissedCall is one missed call and what became of it. ClientPhone is
// there so that a manager can call back; it must never be logged.
type MissedCall struct {
	Provider, CallID string
	ClientPhone      string
	Source           string
	// Owner is the client's responsible manager as stored (a PBX extension
	// or a manager id), else the manager of the client's latest answered
	// call before this one, else "".
	Owner string
	At    time.Time // in the store's location
	// CalledBackAt is the start of the first answered call with the client
	// after At; zero while open.
	CalledBackAt time.Time
	// CallbackSeconds is CalledBackAt − At; -1 while open.
	CallbackSeconds int64
	Open            bool
	WithinSLA       bool
}

// Missed returns the missed calls that started in the period (see the rules
// above), oldest first, with their callbacks up to now, which may lie after
// the period. With openOnly, only those not called back yet. sla decides
// WithinSLA.
func (s *Store) Missed(ctx context.Context, p Period, openOnly bool, sla time.Duration) ([]MissedCall, error) {
	start, end := p.bounds()
	rows, err := s.conn.Query(ctx, missedSQL, start, end, start, end)
	if err != nil {
		return nil, fmt.Errorf("query missed calls: %w", err)
	}
	defer rows.Close()
	var out []MissedCall
	for rows.Next() {
		var m MissedCall
		if err := rows.Scan(&m.Provider, &m.CallID, &m.ClientPhone, &m.At, &m.CalledBackAt, &m.Owner, &m.Source); err != nil {
			return nil, fmt.Errorf("scan missed calls: %w", err)
		}
		m.At = m.At.In(s.loc)
		if m.CalledBackAt.Unix() <= 0 {
			m.CalledBackAt, m.CallbackSeconds, m.Open = time.Time{}, -1, true
		} else {
			m.CalledBackAt = m.CalledBackAt.In(s.loc)
			m.CallbackSeconds = m.CalledBackAt.Unix() - m.At.Unix()
			m.WithinSLA = m.CallbackSeconds <= int64(sla/time.Second)
		}
		if openOnly && !m.Open {
			continue
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read missed calls: %w", err)
	}
	return out, nil
}

// MissedReport is the missed calls of a period and their callbacks.
type MissedReport struct {
	From       string       `json:"from"`
	To         string       `json:"to"`
	Timezone   string       `json:"timezone"`
	SLASeconds int64        `json:"sla_seconds"`
	Missed     []MissedLine `json:"missed"`
}

// MissedLine is one missed call for the API. Owner is a configured manager
// id where the stored owner is one of their extensions or ids, otherwise
// as stored; OwnerName is empty unless the owner is configured.
// CalledBackAt and CallbackSeconds are absent (nil) while open.
type MissedLine struct {
	Provider        string     `json:"provider"`
	CallID          string     `json:"call_id"`
	ClientPhone     string     `json:"client_phone"`
	Source          string     `json:"source"`
	Owner           string     `json:"owner"`
	OwnerName       string     `json:"owner_name"`
	At              time.Time  `json:"at"`
	CalledBackAt    *time.Time `json:"called_back_at,omitempty"`
	CallbackSeconds *int64     `json:"callback_seconds,omitempty"`
	Open            bool       `json:"open"`
	WithinSLA       bool       `json:"within_sla"`
}

// BuildMissedReport maps owners to managers, keeping the store's order.
func BuildMissedReport(p Period, rows []MissedCall, team *Team, sla time.Duration) MissedReport {
	rep := MissedReport{
		From:       p.From.Format(time.DateOnly),
		To:         p.To.Format(time.DateOnly),
		Timezone:   p.From.Location().String(),
		SLASeconds: int64(sla / time.Second),
		Missed:     make([]MissedLine, 0, len(rows)),
	}
	for _, m := range rows {
		line := MissedLine{
			Provider: m.Provider, CallID: m.CallID, ClientPhone: m.ClientPhone, Source: m.Source,
			At: m.At, Open: m.Open, WithinSLA: m.WithinSLA,
		}
		line.Owner, line.OwnerName = managerOf(team, m.Owner)
		if !m.Open {
			at, secs := m.CalledBackAt, m.CallbackSeconds
			line.CalledBackAt, line.CallbackSeconds = &at, &secs
		}
		rep.Missed = append(rep.Missed, line)
	}
	return rep
}

// managerOf maps a stored manager (an extension or a manager id) to the
// configured manager's id and name; anything else is returned as it is,
// with no name.
func managerOf(team *Team, stored string) (id, name string) {
	if m, ok := team.Lookup(stored); ok && stored != "" {
		return m.ID, m.Name
	}
	return stored, ""
}
