package analytics

import (
	"context"
	"iter"

	"github.com/callpulse/callpulse/internal/chset"
)

// A set of client phones goes to ClickHouse as external data (chset), not
// as literals in the query text.

// phonesTable is the external table of the phones a query asks about,
// whose only column is phone: "x IN phonesTable".
const phonesTable = "asked_phones"

// withPhones returns ctx with phones attached as the external table
// phonesTable. An empty set is a valid empty table.
func withPhones(ctx context.Context, phones iter.Seq[string]) (context.Context, error) {
	return chset.With(ctx, phonesTable, "phone", phones)
}
