package warehouse

import (
	"context"
	"fmt"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// clusterSettings are the connection's settings in cluster mode, unless
// the DSN sets them.
//
// insert_distributed_sync: an insert into a Distributed table returns once
// the rows are in a replica's table, not when they are queued on the
// server for a later send, so the writer's spool cursor only moves past
// what ClickHouse holds.
//
// max_replica_delay_for_distributed_queries = 0: a query through a
// Distributed table on a server that finds itself in remote_servers reads
// its own replica (every replica holds everything), never another one.
// ClickHouse's default passes the query to another replica when the local
// one lags by 300 s or more, and 18.16 then runs it as a remote query
// against itself if no other replica is up, where the tables inside
// subqueries resolve in the wrong database and a cancelled query crashed
// the server in our tests. A lagging replica is read as it is. A server
// that does not find itself there (NAT, service addresses) picks a replica
// per query; the rollups do not depend on which (analytics.Rollup writes
// with a quorum of every replica). See docs/operations.md, "Scale-out".
func clusterSettings(o *clickhouse.Options) {
	defaultSettings(o, clickhouse.Settings{
		"insert_distributed_sync":                   1,
		"max_replica_delay_for_distributed_queries": 0,
	})
}

// migrateCluster is Migrate on a cluster. Every statement of every
// migration goes through the rewrite (which must see them all, in order),
// but only those of unapplied migrations run. The database and
// schema_migrations (itself replicated, so that every server agrees on
// what is applied) are created ON CLUSTER only when missing: DDL ON
// CLUSTER waits for every server, so a daemon restarted while a replica is
// down would otherwise wait for it before writing anything.
func (db *DB) migrateCluster(ctx context.Context, migrations []Migration) ([]uint32, error) {
	schema := newClusterSchema(db.opts.Cluster, db.database)
	bootstrap, err := schema.rewrite(createSchemaMigrations)
	if err != nil {
		return nil, err
	}
	plan := make([][]string, len(migrations))
	for i, m := range migrations {
		for j, stmt := range m.Statements {
			out, err := schema.rewrite(stmt)
			if err != nil {
				return nil, fmt.Errorf("migration %04d_%s statement %d: %w", m.Version, m.Name, j+1, err)
			}
			plan[i] = append(plan[i], out...)
		}
	}
	exists, err := db.checkCluster(ctx)
	if err != nil {
		return nil, err
	}
	if !exists {
		for _, stmt := range bootstrap {
			if err := db.execMigration(ctx, stmt); err != nil {
				return nil, fmt.Errorf("create schema_migrations on cluster %s: %w", db.opts.Cluster, err)
			}
		}
	}
	return db.applyMigrations(ctx, migrations, plan)
}

// checkCluster checks, on the server the DSN names, that the cluster is
// one shard and that the server has the macros the replicated tables
// name, creates the database ON CLUSTER if it is missing, and reports
// whether schema_migrations exists. A database migrated for one server is
// refused: its tables are not replicated, and nothing would make them so. It connects to "default": callpulse's
// database may not exist yet.
func (db *DB) checkCluster(ctx context.Context) (migrated bool, err error) {
	bootstrap := *db.copts
	bootstrap.Auth.Database = "default"
	conn, err := clickhouse.Open(&bootstrap)
	if err != nil {
		return false, fmt.Errorf("open clickhouse to check cluster %s: %w", db.opts.Cluster, err)
	}
	defer conn.Close()
	qctx, cancel := db.queryContext(ctx)
	defer cancel()
	var shards, replicas, macros, databases uint64
	if err := conn.QueryRow(qctx, "SELECT uniqExact(shard_num), count() FROM system.clusters WHERE cluster = ?",
		db.opts.Cluster).Scan(&shards, &replicas); err != nil {
		return false, fmt.Errorf("read system.clusters: %w", err)
	}
	switch {
	case replicas == 0:
		return false, fmt.Errorf("cluster %s is not in the server's remote_servers (system.clusters)", db.opts.Cluster)
	case shards != 1:
		return false, fmt.Errorf("cluster %s has %d shards: callpulse supports one shard with any number of replicas", db.opts.Cluster, shards)
	}
	if err := conn.QueryRow(qctx, "SELECT count() FROM system.macros WHERE macro IN ('shard', 'replica')").Scan(&macros); err != nil {
		return false, fmt.Errorf("read system.macros: %w", err)
	}
	if macros != 2 {
		return false, fmt.Errorf("cluster %s: the server defines no {shard} and {replica} macros, which its replicated tables need", db.opts.Cluster)
	}
	if err := conn.QueryRow(qctx, "SELECT count() FROM system.databases WHERE name = ?", db.database).Scan(&databases); err != nil {
		return false, fmt.Errorf("read system.databases: %w", err)
	}
	var engine string
	if err := conn.QueryRow(qctx, "SELECT any(engine) FROM system.tables WHERE database = ? AND name = 'schema_migrations'",
		db.database).Scan(&engine); err != nil {
		return false, fmt.Errorf("read system.tables: %w", err)
	}
	if engine != "" && engine != "Distributed" {
		return false, fmt.Errorf("database %s was created for one server (schema_migrations is %s): clickhouse.cluster"+
			" needs a new database; see docs/operations.md, \"Scale-out\"", db.database, engine)
	}
	if databases == 0 {
		mctx, cancel := context.WithTimeout(ctx, max(migrationTimeout, db.opts.QueryTimeout))
		defer cancel()
		if err := conn.Exec(mctx, fmt.Sprintf("CREATE DATABASE IF NOT EXISTS %s ON CLUSTER %s", db.database, db.opts.Cluster)); err != nil {
			return false, fmt.Errorf("create database %s on cluster %s: %w", db.database, db.opts.Cluster, err)
		}
	}
	return engine != "", nil
}
