package analytics

import (
	"context"
	"slices"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callpulse/callpulse/internal/chtest"
)

// phoneSetConn returns a connection to a fresh database holding the table
// stored (ORDER BY phone, as call_facts and phone_rollup) of the phones
// stored, each with its position as n.
func phoneSetConn(t *testing.T, stored []string) driver.Conn {
	t.Helper()
	ctx := context.Background()
	opts, err := clickhouse.ParseDSN(chtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	database := opts.Auth.Database
	opts.Auth.Database = "default"
	conn, err := clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	for _, q := range []string{
		"CREATE DATABASE " + database,
		"CREATE TABLE " + database + ".stored (phone String, n UInt32) ENGINE = MergeTree ORDER BY phone",
	} {
		if err := conn.Exec(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	batch, err := conn.PrepareBatch(ctx, "INSERT INTO "+database+".stored (phone, n)")
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range stored {
		if err := batch.Append(p, uint32(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	opts.Auth.Database = database
	conn, err = clickhouse.Open(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// TestWithPhones checks on the server that the external table withPhones
// attaches is the set of phones asked for, in a query's WHERE and in the
// subqueries on both sides of a join (as describeLeadsSQL uses it),
// including the empty set and values a literal would have to escape.
func TestWithPhones(t *testing.T) {
	stored := []string{"+79990000001", "+79990000002", "+79990000003", "", "it's", `back\slash`}
	conn := phoneSetConn(t, stored)
	queries := map[string]string{
		"where": "SELECT phone FROM stored WHERE phone IN " + phonesTable + " ORDER BY phone",
		"join": `SELECT phone FROM (SELECT phone, n FROM stored WHERE phone IN ` + phonesTable + `)
			ANY INNER JOIN (SELECT phone FROM stored WHERE phone IN ` + phonesTable + ` GROUP BY phone) USING phone
			ORDER BY phone`,
	}
	for _, tc := range []struct {
		name        string
		asked, want []string
	}{
		{"empty", nil, nil},
		{"one", []string{"+79990000002"}, []string{"+79990000002"}},
		{"some absent", []string{"+79990000003", "+70000000000", "+79990000001"},
			[]string{"+79990000001", "+79990000003"}},
		{"repeated", []string{"+79990000001", "+79990000001"}, []string{"+79990000001"}},
		{"quote and backslash", []string{"it's", `back\slash`}, []string{`back\slash`, "it's"}},
		{"empty phone", []string{""}, []string{""}},
	} {
		for qname, q := range queries {
			t.Run(tc.name+"/"+qname, func(t *testing.T) {
				ctx, err := withPhones(context.Background(), slices.Values(tc.asked))
				if err != nil {
					t.Fatal(err)
				}
				rows, err := conn.Query(ctx, q)
				if err != nil {
					t.Fatal(err)
				}
				defer rows.Close()
				var got []string
				for rows.Next() {
					var p string
					if err := rows.Scan(&p); err != nil {
						t.Fatal(err)
					}
					got = append(got, p)
				}
				if err := rows.Err(); err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, tc.want) {
					t.Errorf("got %q, want %q", got, tc.want)
				}
			})
		}
	}
}
