// Package warehouse is callpulse's ClickHouse store: connection, versioned
// migrations, the spool sink that writes call events, and client upserts.
//
// Schema and SQL stay within what both ClickHouse 18.16 (Debian, CI) and
// current releases accept: explicit column lists on INSERT, no DateTime64,
// Map, LowCardinality, TTL, CODEC, window functions or server-side
// parameters (see docs/architecture.md).
package warehouse

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Options tune the connection.
type Options struct {
	DialTimeout  time.Duration
	QueryTimeout time.Duration
	// Cluster is the name of a ClickHouse cluster (remote_servers) of one
	// shard with replicas: migrations then create replicated tables on
	// every server, read and written through Distributed tables (see
	// cluster.go). Empty for a single server.
	Cluster string
}

// DB is an open ClickHouse connection bound to callpulse's database.
type DB struct {
	conn     driver.Conn
	copts    *clickhouse.Options
	database string
	opts     Options
}

var dbName = regexp.MustCompile(`^[A-Za-z0-9_]+$`)

// querySizeSettings are the limits on query size callpulse's queries run
// with, unless the DSN sets them: room for sets of a few million phones.
var querySizeSettings = clickhouse.Settings{
	"max_query_size":            64 << 20, // bytes of SQL
	"max_ast_elements":          4_000_000,
	"max_expanded_ast_elements": 4_000_000,
}

// Open connects to the DSN (clickhouse://[user:pass@]host:port/database).
// It does not require the database to exist; Migrate creates it. Open does
// not contact the server: use Ping to find out whether it is reachable.
func Open(dsn string, opts Options) (*DB, error) {
	copts, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("parse clickhouse dsn: %w", err)
	}
	database := copts.Auth.Database
	if database == "" {
		database = "default"
	}
	if !dbName.MatchString(database) {
		return nil, fmt.Errorf("clickhouse dsn: database name %q: want letters, digits and _", database)
	}
	copts.Auth.Database = database
	if opts.DialTimeout > 0 {
		copts.DialTimeout = opts.DialTimeout
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 30 * time.Second
	}
	copts.Compression = &clickhouse.Compression{Method: clickhouse.CompressionLZ4}
	// Room for long queries: the analytics send large sets of phones and
	// calls as external tables, but a snapshot's chain of refresh ids (up
	// to a day of them) still goes in the query text, and ClickHouse's
	// defaults (256 KiB of SQL, 50,000 syntax tree nodes) are tight for
	// the nested analytics queries. A DSN may set its own.
	defaultSettings(copts, querySizeSettings)
	if opts.Cluster != "" {
		if !dbName.MatchString(opts.Cluster) {
			return nil, fmt.Errorf("clickhouse cluster name %q: want letters, digits and _", opts.Cluster)
		}
		clusterSettings(copts)
	}
	conn, err := clickhouse.Open(copts)
	if err != nil {
		return nil, fmt.Errorf("open clickhouse: %w", err)
	}
	return &DB{conn: conn, copts: copts, database: database, opts: opts}, nil
}

// defaultSettings adds each of settings to o's that the DSN did not set.
func defaultSettings(o *clickhouse.Options, settings clickhouse.Settings) {
	if o.Settings == nil {
		o.Settings = clickhouse.Settings{}
	}
	for k, v := range settings {
		if _, set := o.Settings[k]; !set {
			o.Settings[k] = v
		}
	}
}

// Database is the name of callpulse's database.
func (db *DB) Database() string { return db.database }

// Conn is the underlying driver connection, for packages that run their own
// queries (analytics). Its default database is callpulse's, so queries name
// tables bare.
func (db *DB) Conn() driver.Conn { return db.conn }

// Ping checks that the server answers.
func (db *DB) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, db.opts.QueryTimeout)
	defer cancel()
	if err := db.conn.Ping(ctx); err != nil {
		return fmt.Errorf("ping clickhouse: %w", err)
	}
	return nil
}

// ServerVersion reports the server's version string.
func (db *DB) ServerVersion() (string, error) {
	v, err := db.conn.ServerVersion()
	if err != nil {
		return "", fmt.Errorf("clickhouse server version: %w", err)
	}
	return v.String(), nil
}

// Close closes the connection pool.
func (db *DB) Close() error { return db.conn.Close() }

// queryContext bounds one statement by the configured query timeout.
func (db *DB) queryContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, db.opts.QueryTimeout)
}
