package analytics

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// keptRows keeps rows the funnel derives from whole tables — every
// phone's client source and grade, every phone's deal facts — so that
// Sources need not derive them again for every period while the tables
// are unchanged. They change only when clients or deals are imported or
// pulled from a CRM; the rows are keyed by the active data parts of their
// tables, which every insert, merge or mutation replaces, so a change is
// seen by the next query, exactly as without keeping them. On replicated
// tables (clickhouse.cluster) a query may read another replica than the
// one whose parts are listed, so there nothing is kept. A part is known by
// its name, when it was written and its rows, so that a table dropped and
// made again, whose block numbers start over, cannot pass for the old one.
type keptRows[T any] struct {
	tables   string                                         // their names, for errors
	partsSQL string                                         // lists the tables' active parts (tablePartsSQL)
	read     func(ctx context.Context, s *Store) (T, error) // derives the rows from the tables

	mu    sync.Mutex
	parts string // the parts the rows were read from; "" before the first read
	rows  T
}

// newKeptRows keeps the rows read derives from tables.
func newKeptRows[T any](read func(ctx context.Context, s *Store) (T, error), tables ...string) *keptRows[T] {
	return &keptRows[T]{tables: strings.Join(tables, ", "),
		partsSQL: fmt.Sprintf(tablePartsSQL, "'"+strings.Join(tables, "', '")+"'"), read: read}
}

// tablePartsSQL lists the active parts of the tables %s (quoted names),
// and counts the replicated tables of the database.
const tablePartsSQL = `
SELECT
    arrayStringConcat(groupArray(concat(table, '/', name, '@', toString(toUInt32(modification_time)), '/', toString(rows))), ','),
    (SELECT count() FROM system.replicas WHERE database = currentDatabase())
FROM
(
    SELECT table, name, modification_time, rows FROM system.parts
    WHERE database = currentDatabase() AND table IN (%s) AND active
    ORDER BY table, name
)`

// get returns the rows, read again if the tables changed since the last
// read; ok is false on replicated tables, where the caller reads what it
// needs itself. The rows are shared: callers must not change them. The
// parts are listed under the lock, so that callers who arrive while the
// rows are read again wait for them instead of reading them too.
func (k *keptRows[T]) get(ctx context.Context, s *Store) (rows T, ok bool, err error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	var parts string
	var replicated uint64
	if err := s.conn.QueryRow(ctx, k.partsSQL).Scan(&parts, &replicated); err != nil {
		return rows, false, fmt.Errorf("list the parts of %s: %w", k.tables, err)
	}
	if replicated > 0 {
		return rows, false, nil
	}
	parts = "parts:" + parts // never "", which means "not read yet"
	if k.parts == parts {
		return k.rows, true, nil
	}
	if rows, err = k.read(ctx, s); err != nil {
		var zero T
		return zero, false, err
	}
	k.parts, k.rows = parts, rows
	return rows, true, nil
}

// load returns the kept rows, or on replicated tables rows read for this
// caller alone (each call reads them all, where a join on the server
// would read the same: there it costs moving them to the daemon). The
// rows are shared: callers must not change them.
func (k *keptRows[T]) load(ctx context.Context, s *Store) (T, error) {
	rows, ok, err := k.get(ctx, s)
	if err != nil || ok {
		return rows, err
	}
	return k.read(ctx, s)
}

// allClientsSQL is describeLeadsSQL of every phone, keeping the rows the
// funnel and speed to lead can use: a source, a manager, or a grade that
// qualifies (A or B).
var allClientsSQL = `
SELECT phone, c_source, c_manager, current_category
FROM
(
    SELECT phone, source AS c_source, manager AS c_manager
    FROM clients
    ORDER BY phone, version DESC
    LIMIT 1 BY phone
)
ANY FULL JOIN (` + fmt.Sprintf(currentCategorySQL, "") + `) USING phone
WHERE c_source != '' OR c_manager != '' OR current_category IN ('A', 'B')`

// allClients reads the client rows of every phone that has a source, a
// manager or a qualifying grade.
func allClients(ctx context.Context, s *Store) (map[string]leadClient, error) {
	rows := map[string]leadClient{}
	if err := s.describe(ctx, rows, allClientsSQL); err != nil {
		return nil, err
	}
	return rows, nil
}

// allDeals reads the deal facts of every phone with a deal.
func allDeals(ctx context.Context, s *Store) (map[string]dealFacts, error) {
	rows, err := s.conn.Query(ctx, dealFactsSQL)
	if err != nil {
		return nil, fmt.Errorf("query the deals of every phone: %w", err)
	}
	defer rows.Close()
	out := map[string]dealFacts{}
	for rows.Next() {
		var phone string
		var d dealFacts
		var won uint8
		if err := rows.Scan(&phone, &d.first, &d.source, &won, &d.revenue); err != nil {
			return nil, fmt.Errorf("scan the deals of a phone: %w", err)
		}
		d.first, d.won = unknownZero(d.first), won == 1
		out[phone] = d
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the deals of every phone: %w", err)
	}
	return out, nil
}
