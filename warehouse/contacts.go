package warehouse

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/callpulse/callpulse/client"
)

// Client returns the newest stored version of the client with the given
// E.164 phone, and false if there is none. It serves live lookups (a PBX
// asking who is calling), so callers should bound ctx tightly; the
// configured query timeout applies as well.
//
// `clients` is a ReplacingMergeTree(version) whose older versions linger
// until a merge, so the query takes the one row with the highest version
// (ORDER BY version DESC LIMIT 1 over the primary-key range of the phone):
// unlike per-column argMax it can never mix columns of two versions, and
// unlike FINAL it does not merge the whole key range at read time.
//
// Errors name the operation but never the phone number.
func (db *DB) Client(ctx context.Context, phone string) (client.Client, bool, error) {
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	row := db.conn.QueryRow(ctx, `SELECT name, toString(category), toString(need), toString(budget),
		toString(urgency), source, manager
		FROM clients WHERE phone = ? ORDER BY version DESC LIMIT 1`, phone)
	c := client.Client{Phone: phone}
	var category, need, budget, urgency string
	err := row.Scan(&c.Name, &category, &need, &budget, &urgency, &c.Source, &c.Manager)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return client.Client{}, false, nil
		}
		return client.Client{}, false, fmt.Errorf("look up client: %w", err)
	}
	// The columns are Enum8s with exactly the names of client.Category and
	// client.Flag, so the conversions cannot produce unknown values.
	c.Category = client.Category(category)
	c.Need, c.Budget, c.Urgency = client.Flag(need), client.Flag(budget), client.Flag(urgency)
	return c, true, nil
}
