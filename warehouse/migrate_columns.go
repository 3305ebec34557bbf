package warehouse

import (
	"context"
	"fmt"
	"regexp"
	"strings"
)

// ClickHouse 18.16 has no ALTER TABLE ... ADD COLUMN IF NOT EXISTS: run
// twice, an ADD COLUMN fails. Migrations must be safe to re-run (an
// interrupted run, two daemons migrating at once), so the migrator makes
// it idempotent itself: a statement that only adds columns is skipped when
// the table has them all already, and its failure is forgiven when, read
// again, the table has them all (another daemon added them meanwhile).

var (
	// alterTable is an ALTER TABLE as a migration writes it or as the
	// cluster rewrite makes it (database-qualified, ON CLUSTER).
	alterTable = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+(?:([A-Za-z0-9_]+)\.)?([A-Za-z0-9_]+)\s+(?:ON\s+CLUSTER\s+\S+\s+)?(.*)$`)
	// addColumn is one ADD COLUMN command and the column's name.
	addColumn = regexp.MustCompile(`(?is)^ADD\s+COLUMN\s+([A-Za-z_][A-Za-z0-9_]*)\s`)
)

// addedColumns returns the table (database, name) and the columns stmt
// adds if it is an ALTER TABLE whose every command is ADD COLUMN, else no
// columns.
func (db *DB) addedColumns(stmt string) (database, table string, cols []string) {
	m := alterTable.FindStringSubmatch(strings.TrimSpace(stmt))
	if m == nil {
		return "", "", nil
	}
	database, table = m[1], m[2]
	if database == "" {
		database = db.database
	}
	for _, cmd := range splitCommands(m[3]) {
		c := addColumn.FindStringSubmatch(cmd + " ")
		if c == nil {
			return "", "", nil
		}
		cols = append(cols, c[1])
	}
	return database, table, cols
}

// splitCommands splits the commands of an ALTER TABLE on the commas
// outside parentheses and quotes.
func splitCommands(s string) []string {
	var out []string
	start := 0
	for _, t := range tokenize(s) {
		if t.kind == tokPunct && t.text == "," && t.depth == 0 {
			out = append(out, strings.TrimSpace(s[start:t.start]))
			start = t.end
		}
	}
	return append(out, strings.TrimSpace(s[start:]))
}

// hasColumns reports whether table has every one of cols, on the server
// this connection reads.
func (db *DB) hasColumns(ctx context.Context, database, table string, cols []string) (bool, error) {
	var n uint64
	if err := db.conn.QueryRow(ctx, "SELECT count() FROM system.columns WHERE database = ? AND table = ? AND has(?, name)",
		database, table, cols).Scan(&n); err != nil {
		return false, fmt.Errorf("read the columns of %s.%s: %w", database, table, err)
	}
	return n == uint64(len(cols)), nil
}
