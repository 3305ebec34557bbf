package analytics

import (
	"context"
	"fmt"
	"strings"
	"sync"
)

// keptRows keeps rows the funnel derives from whole tables — every
// phone's client source, manager and grade, every phone's deal facts — so
// that Sources and SpeedToLead need not derive them again for every
// period while the tables are unchanged. They change only when clients or
// deals are imported or pulled from a CRM; the rows are keyed by the
// active data parts of their tables (keptParts), which every insert,
// merge or mutation replaces, so a change is seen by the next query,
// exactly as without keeping them.
type keptRows[T any] struct {
	tables []string                                       // the tables the rows come from, among keptTables
	read   func(ctx context.Context, s *Store) (T, error) // derives the rows from the tables

	mu   sync.Mutex
	key  string // the parts of tables the rows were read from (tableParts.key); "" before the first read
	rows T
}

// newKeptRows keeps the rows read derives from tables (of keptTables).
func newKeptRows[T any](read func(ctx context.Context, s *Store) (T, error), tables ...string) *keptRows[T] {
	return &keptRows[T]{tables: tables, read: read}
}

// keptTables are the tables rows are kept of.
var keptTables = []string{"clients", "client_categories", "deals"}

// keptPartsSQL lists the active parts of keptTables, each as its table
// and a key: its name, when it was written and its rows, so that a table
// dropped and made again, whose block numbers start over, cannot pass for
// the old one. It also counts the replicated tables of the database.
var keptPartsSQL = `
SELECT groupArray(table), groupArray(part), (SELECT count() FROM system.replicas WHERE database = currentDatabase())
FROM
(
    SELECT table, concat(name, '@', toString(toUInt32(modification_time)), '/', toString(rows)) AS part
    FROM system.parts
    WHERE database = currentDatabase() AND table IN ('` + strings.Join(keptTables, "', '") + `') AND active
    ORDER BY table, name
)`

// tableParts is the active parts of each of keptTables, in one listing;
// nil on replicated tables (clickhouse.cluster), where a query may read
// another replica than the one whose parts were listed, so nothing is
// kept.
type tableParts map[string][]string

// key is the parts of tables as one string, never "".
func (p tableParts) key(tables []string) string {
	var b strings.Builder
	for _, t := range tables {
		fmt.Fprintf(&b, "%s:%s;", t, strings.Join(p[t], ","))
	}
	return b.String()
}

// keptParts lists the parts of keptTables.
func (s *Store) keptParts(ctx context.Context) (tableParts, error) {
	var tables, parts []string
	var replicated uint64
	if err := s.conn.QueryRow(ctx, keptPartsSQL).Scan(&tables, &parts, &replicated); err != nil {
		return nil, fmt.Errorf("list the parts of %s: %w", strings.Join(keptTables, ", "), err)
	}
	if replicated > 0 {
		return nil, nil
	}
	out := tableParts{}
	for i, t := range tables {
		out[t] = append(out[t], parts[i])
	}
	return out, nil
}

// get returns the rows, read again if their tables' parts differ from
// those of the last read; ok is false on replicated tables (parts nil),
// where the caller reads what it needs itself. The rows are shared:
// callers must not change them.
func (k *keptRows[T]) get(ctx context.Context, s *Store, parts tableParts) (rows T, ok bool, err error) {
	if parts == nil {
		return rows, false, nil
	}
	key := parts.key(k.tables)
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.key == key {
		return k.rows, true, nil
	}
	if rows, err = k.read(ctx, s); err != nil {
		var zero T
		return zero, false, err
	}
	k.key, k.rows = key, rows
	return rows, true, nil
}

// load returns the kept rows, or on replicated tables rows read for this
// caller alone (each call reads them all, where a join on the server
// would read the same: there it costs moving them to the daemon). The
// rows are shared: callers must not change them.
func (k *keptRows[T]) load(ctx context.Context, s *Store, parts tableParts) (T, error) {
	rows, ok, err := k.get(ctx, s, parts)
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
