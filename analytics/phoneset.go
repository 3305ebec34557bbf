package analytics

import (
	"context"
	"fmt"
	"iter"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/ext"
)

// A set of client phones goes to ClickHouse as external data, a temporary
// table sent with the query in the native format, not as literals in the
// query text: ClickHouse 18.16 parses a literal set at 10–20 µs a phone,
// which for the thousands of phones a refresh or a gauge asks about cost
// more CPU than the query itself, and past 256 KiB of SQL or 50,000
// syntax tree nodes needs raised limits. "phone IN phonesTable" reads the
// same granules of a table ordered by phone as the literal set, resolves
// in subqueries on both sides of a join, and may be empty
// (TestWithPhones; docs/performance.md, "Ingest CPU, session 4").

// phonesTable is the external table of the phones a query asks about,
// whose only column is phone: "x IN phonesTable".
const phonesTable = "asked_phones"

// withPhones returns ctx with phones attached as the external table
// phonesTable. An empty set is a valid empty table.
func withPhones(ctx context.Context, phones iter.Seq[string]) (context.Context, error) {
	t, err := ext.NewTable(phonesTable, ext.Column("phone", "String"))
	if err != nil {
		return ctx, fmt.Errorf("external table of phones: %w", err)
	}
	for p := range phones {
		if err := t.Append(p); err != nil {
			return ctx, fmt.Errorf("external table of phones: %w", err)
		}
	}
	return clickhouse.Context(ctx, clickhouse.WithExternalTable(t)), nil
}
