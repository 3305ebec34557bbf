package analytics

import (
	"context"
	"fmt"
	"sync"
)

// clientRows keeps what the funnel reads of every client phone — the
// client row's source and the latest known grade (describeLeadsSQL) — so
// that Sources need not read the clients and their grades again for
// every period while neither changed. Both change only when clients are
// imported or pulled from a CRM; the cache is keyed by the active data
// parts of the two tables, which every insert, merge or mutation
// replaces, so a change is seen by the next query, exactly as without the
// cache. On replicated tables (clickhouse.cluster) a query may read
// another replica than the one whose parts are listed, so there it is
// not used.
type clientRows struct {
	mu    sync.Mutex
	parts string // the parts the rows were read from; "" before the first read
	rows  map[string]leadClient
}

// clientPartsSQL lists the active parts of the tables the funnel's client
// rows come from, and counts the replicated tables of the database.
const clientPartsSQL = `
SELECT
    arrayStringConcat(groupArray(concat(table, '/', name)), ','),
    (SELECT count() FROM system.replicas WHERE database = currentDatabase())
FROM
(
    SELECT table, name FROM system.parts
    WHERE database = currentDatabase() AND table IN ('clients', 'client_categories') AND active
    ORDER BY table, name
)`

// allClientsSQL is describeLeadsSQL of every phone, keeping the rows the
// funnel can use: a source, or a grade that qualifies (A or B).
var allClientsSQL = `
SELECT phone, c_source, current_category
FROM
(
    SELECT phone, source AS c_source
    FROM clients
    ORDER BY phone, version DESC
    LIMIT 1 BY phone
)
ANY FULL JOIN (` + fmt.Sprintf(currentCategorySQL, "") + `) USING phone
WHERE c_source != '' OR current_category IN ('A', 'B')`

// get returns the client rows of every phone that has a source or a
// qualifying grade, read again if the tables changed since the last
// read; ok is false on replicated tables, where the caller reads them
// itself. The map is shared: callers must not change it.
func (c *clientRows) get(ctx context.Context, s *Store) (rows map[string]leadClient, ok bool, err error) {
	var parts string
	var replicated uint64
	if err := s.conn.QueryRow(ctx, clientPartsSQL).Scan(&parts, &replicated); err != nil {
		return nil, false, fmt.Errorf("list the parts of the client tables: %w", err)
	}
	if replicated > 0 {
		return nil, false, nil
	}
	parts = "parts:" + parts // never "", which means "not read yet"
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.parts == parts {
		return c.rows, true, nil
	}
	rows = map[string]leadClient{}
	if err := s.describe(ctx, rows, allClientsSQL); err != nil {
		return nil, false, err
	}
	c.parts, c.rows = parts, rows
	return rows, true, nil
}
