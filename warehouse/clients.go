package warehouse

import (
	"context"
	"fmt"
	"time"

	"github.com/callpulse/callpulse/client"
)

// UpsertClients stores clients as the newest version of each phone and
// appends a category history row for every client whose known category is
// new or changed, valid from `at`. A row with an unknown category keeps the
// client's last known category (an import without grading erases nothing).
//
// ClickHouse has no transactions: the history and the clients are two
// inserts, each atomic. Upserting the same clients again is a no-op for the
// history and replaces the client rows, so a failed run can simply be
// repeated.
func (db *DB) UpsertClients(ctx context.Context, clients []client.Client, origin string, at time.Time) error {
	if len(clients) == 0 {
		return nil
	}
	phones := make([]string, len(clients))
	for i, c := range clients {
		phones[i] = c.Phone
	}
	current, err := db.CurrentCategories(ctx, phones)
	if err != nil {
		return err
	}
	at = at.UTC().Truncate(time.Second)

	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	hist, err := db.conn.PrepareBatch(ctx, "INSERT INTO client_categories (phone, category, valid_from, origin, recorded_at)")
	if err != nil {
		return fmt.Errorf("prepare client_categories batch: %w", err)
	}
	defer hist.Abort()
	changed := 0
	for _, c := range clients {
		if !c.Category.Known() || current[c.Phone] == c.Category {
			continue
		}
		if err := hist.Append(c.Phone, string(c.Category), at, origin, at); err != nil {
			return fmt.Errorf("append category history: %w", err)
		}
		current[c.Phone] = c.Category
		changed++
	}
	if changed > 0 {
		if err := hist.Send(); err != nil {
			return fmt.Errorf("insert %d category history rows: %w", changed, err)
		}
	}

	rows, err := db.conn.PrepareBatch(ctx, `INSERT INTO clients (phone, name, category, need, budget, urgency,
		source, manager, origin, updated_at, version)`)
	if err != nil {
		return fmt.Errorf("prepare clients batch: %w", err)
	}
	defer rows.Abort()
	version := uint64(at.UnixNano())
	for _, c := range clients {
		cat, known := c.Category, current[c.Phone]
		if !cat.Known() {
			cat = client.CategoryUnknown
			if known.Known() {
				cat = known
			}
		}
		if err := rows.Append(c.Phone, c.Name, string(cat), flag(c.Need), flag(c.Budget), flag(c.Urgency),
			c.Source, c.Manager, origin, at, version); err != nil {
			return fmt.Errorf("append client: %w", err)
		}
	}
	if err := rows.Send(); err != nil {
		return fmt.Errorf("insert %d clients: %w", len(clients), err)
	}
	return nil
}

// CurrentCategories returns the latest known category of each phone that has
// one.
func (db *DB) CurrentCategories(ctx context.Context, phones []string) (map[string]client.Category, error) {
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	rows, err := db.conn.Query(ctx, `SELECT phone, toString(argMax(category, valid_from))
		FROM client_categories WHERE has(?, phone) GROUP BY phone`, phones)
	if err != nil {
		return nil, fmt.Errorf("query current categories: %w", err)
	}
	defer rows.Close()
	out := make(map[string]client.Category, len(phones))
	for rows.Next() {
		var phone, cat string
		if err := rows.Scan(&phone, &cat); err != nil {
			return nil, fmt.Errorf("scan current category: %w", err)
		}
		out[phone] = client.Category(cat)
	}
	return out, rows.Err()
}

// flag maps the zero Flag to "unknown".
func flag(f client.Flag) string {
	if f == "" {
		return string(client.FlagUnknown)
	}
	return string(f)
}

// KnownClient reports whether phone was in the client base (a clients row
// or a recorded grade, from an import or a CRM pull) before the time
// given, and the responsible manager's extension of its newest clients row
// ("" if none).
func (db *DB) KnownClient(ctx context.Context, phone string, before time.Time) (manager string, known bool, err error) {
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	b := before.UTC().Truncate(time.Second)
	rows, err := db.conn.Query(ctx, `
SELECT
    (SELECT count() FROM clients WHERE phone = ? AND updated_at > toDateTime(0) AND updated_at < ?)
  + (SELECT count() FROM client_categories WHERE phone = ? AND valid_from > toDateTime(0) AND valid_from < ?) AS n,
    (SELECT argMax(manager, version) FROM clients WHERE phone = ?) AS manager`, phone, b, phone, b, phone)
	if err != nil {
		return "", false, fmt.Errorf("query known client: %w", err)
	}
	defer rows.Close()
	var n uint64
	if rows.Next() {
		if err := rows.Scan(&n, &manager); err != nil {
			return "", false, fmt.Errorf("scan known client: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return "", false, fmt.Errorf("query known client: %w", err)
	}
	return manager, n > 0, nil
}
