package warehouse

import (
	"context"
	"embed"
	"fmt"
	"github.com/ClickHouse/clickhouse-go/v2"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one versioned schema step (migrations/NNNN_name.sql).
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

var migrationName = regexp.MustCompile(`^(\d{4})_([a-z0-9_]+)\.sql$`)

// Migrations returns the embedded migrations in version order.
func Migrations() ([]Migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, fmt.Errorf("read embedded migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		m := migrationName.FindStringSubmatch(e.Name())
		if m == nil {
			return nil, fmt.Errorf("migration file %q: want NNNN_name.sql", e.Name())
		}
		v, _ := strconv.ParseUint(m[1], 10, 32)
		body, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, fmt.Errorf("read migration %s: %w", e.Name(), err)
		}
		out = append(out, Migration{Version: uint32(v), Name: m[2], Statements: splitStatements(string(body))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("two migrations with version %04d", out[i].Version)
		}
	}
	return out, nil
}

// splitStatements drops "--" comment lines and splits on ";" at line ends.
func splitStatements(sql string) []string {
	var b strings.Builder
	for _, line := range strings.Split(sql, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "--") {
			continue
		}
		b.WriteString(line)
		b.WriteByte('\n')
	}
	var out []string
	for _, s := range strings.Split(b.String(), ";\n") {
		if s = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(s), ";")); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// Migrate creates the database and applies every migration not yet recorded
// in schema_migrations. Each statement is idempotent (IF NOT EXISTS; a
// backfill writes rows that fold to the same result however often it
// runs), so two daemons migrating at once, or a run interrupted half way,
// are safe. A migration that backfills a large store takes minutes (0008:
// about 3 at 10M calls on 2 cores). It returns the versions it applied.
// With Options.Cluster, the statements are rewritten for the cluster
// (cluster.go) and run on every server.
func (db *DB) Migrate(ctx context.Context) ([]uint32, error) {
	migrations, err := Migrations()
	if err != nil {
		return nil, err
	}
	if db.opts.Cluster != "" {
		return db.migrateCluster(ctx, migrations)
	}
	if err := db.createDatabase(ctx); err != nil {
		return nil, err
	}
	if err := db.exec(ctx, createSchemaMigrations); err != nil {
		return nil, fmt.Errorf("create schema_migrations: %w", err)
	}
	plan := make([][]string, len(migrations))
	for i, m := range migrations {
		plan[i] = m.Statements
	}
	return db.applyMigrations(ctx, migrations, plan)
}

// createSchemaMigrations creates the table that records applied migrations.
const createSchemaMigrations = "CREATE TABLE IF NOT EXISTS schema_migrations" +
	" (version UInt32, name String, applied_at DateTime) ENGINE = ReplacingMergeTree(applied_at) ORDER BY version"

// applyMigrations runs the statements plan[i] of each migrations[i] not yet
// recorded in schema_migrations, and records it.
func (db *DB) applyMigrations(ctx context.Context, migrations []Migration, plan [][]string) ([]uint32, error) {
	done, err := db.appliedMigrations(ctx)
	if err != nil {
		return nil, err
	}
	var applied []uint32
	for n, m := range migrations {
		if done[m.Version] {
			continue
		}
		for i, stmt := range plan[n] {
			if err := db.execMigration(ctx, stmt); err != nil {
				return applied, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, i+1, err)
			}
		}
		if err := db.exec(ctx, "INSERT INTO schema_migrations (version, name, applied_at) SELECT ?, ?, ?",
			m.Version, m.Name, time.Now().UTC()); err != nil {
			return applied, fmt.Errorf("record migration %04d: %w", m.Version, err)
		}
		applied = append(applied, m.Version)
	}
	return applied, nil
}

func (db *DB) appliedMigrations(ctx context.Context) (map[uint32]bool, error) {
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	rows, err := db.conn.Query(ctx, "SELECT DISTINCT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("read schema_migrations: %w", err)
	}
	defer rows.Close()
	done := map[uint32]bool{}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, fmt.Errorf("scan schema_migrations: %w", err)
		}
		done[v] = true
	}
	return done, rows.Err()
}

// createDatabase creates callpulse's database through a short-lived
// connection to "default" (the main connection is bound to a database that
// may not exist yet).
func (db *DB) createDatabase(ctx context.Context) error {
	bootstrap := *db.copts
	bootstrap.Auth.Database = "default"
	conn, err := clickhouse.Open(&bootstrap)
	if err != nil {
		return fmt.Errorf("open clickhouse to create database: %w", err)
	}
	defer conn.Close()
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE IF NOT EXISTS `"+db.database+"`"); err != nil {
		return fmt.Errorf("create database %s: %w", db.database, err)
	}
	return nil
}

// migrationTimeout bounds one migration statement: backfills of derived
// tables (0008) take minutes on a large store, far beyond the query
// timeout.
const migrationTimeout = time.Hour

// execMigration runs one migration statement; one that adds columns the
// table has already is skipped (migrate_columns.go).
func (db *DB) execMigration(ctx context.Context, stmt string) error {
	ctx, cancel := context.WithTimeout(ctx, max(migrationTimeout, db.opts.QueryTimeout))
	defer cancel()
	database, table, cols := db.addedColumns(stmt)
	if len(cols) > 0 {
		if done, err := db.hasColumns(ctx, database, table, cols); err != nil || done {
			return err
		}
	}
	err := db.conn.Exec(ctx, stmt)
	if err != nil && len(cols) > 0 {
		if done, _ := db.hasColumns(ctx, database, table, cols); done {
			return nil
		}
	}
	return err
}

func (db *DB) exec(ctx context.Context, stmt string, args ...any) error {
	ctx, cancel := db.queryContext(ctx)
	defer cancel()
	return db.conn.Exec(ctx, stmt, args...)
}
