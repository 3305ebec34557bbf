// Package chset sends a set of strings with a ClickHouse query as external
// data: a temporary table sent with the query in the native format, not as
// literals in the query text. ClickHouse 18.16 parses a literal set at
// 10–20 µs an element, which for the thousands of phones a refresh, a
// gauge or the call queue asks about costs more CPU than the query itself,
// and past 256 KiB of SQL or 50,000 syntax tree nodes needs raised limits.
// "x IN table" reads the same granules of a table ordered by x as the
// literal set, resolves in subqueries on both sides of a join, and may be
// empty (analytics.TestWithPhones; docs/performance.md, "Ingest CPU,
// session 4").
package chset

import (
	"context"
	"fmt"
	"iter"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
)

// With returns ctx with values attached as the external table named
// table, of one String column named column. An empty set is a valid empty
// table.
func With(ctx context.Context, table, column string, values iter.Seq[string]) (context.Context, error) {
	t, err := ext.NewTable(table, ext.Column(column, "String"))
	if err != nil {
		return ctx, fmt.Errorf("external table %s: %w", table, err)
	}
	for v := range values {
		if err := t.Append(v); err != nil {
			return ctx, fmt.Errorf("external table %s: %w", table, err)
		}
	}
	return clickhouse.Context(ctx, clickhouse.WithExternalTable(t)), nil
}
