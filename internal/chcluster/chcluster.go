// Package chcluster gives tests a real replicated ClickHouse: a private
// ZooKeeper and several clickhouse-server processes on loopback, forming a
// cluster of one shard whose servers are all replicas of it (the layout
// callpulse's clickhouse.cluster supports; see docs/operations.md,
// "Scale-out"). Each server has the {shard} and {replica} macros, the
// cluster in remote_servers with internal_replication, and distributed DDL,
// as deploy/cluster/clickhouse/callpulse-cluster.xml configures a real one.
//
// Like chtest, a test is skipped when ZooKeeper or ClickHouse is missing,
// and fails instead when CI=true.
package chcluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/internal/freeport"
)

// Name is the cluster's name in remote_servers (clickhouse.cluster).
const Name = "callpulse"

// Cluster is ZooKeeper and the replicas of one shard.
type Cluster struct {
	ZooKeeper *ZooKeeper
	// Replicas are the servers, replica "r1" first. Stop and Restart one
	// to take it out and bring it back with its data.
	Replicas []*chtest.Server
}

// Start runs ZooKeeper and n clickhouse-server replicas for callpulse's
// database (the replicas' default_database in remote_servers); everything
// stops when the test ends.
func Start(t testing.TB, n int, database string) *Cluster {
	t.Helper()
	zk := StartZooKeeper(t)
	ports := make([]int, n)
	for i := range ports {
		ports[i] = freeport.For(t)
	}
	c := &Cluster{ZooKeeper: zk}
	for i := range ports {
		c.Replicas = append(c.Replicas, chtest.StartWith(t, chtest.Options{
			Port:   ports[i],
			Config: serverConfig(zk.Port(), ports, i, freeport.For(t), database),
		}))
	}
	t.Cleanup(func() {
		if t.Failed() {
			c.logErrors(t)
		}
	})
	return c
}

// logErrors logs the end of each replica's error log, to tell a failed
// test what ClickHouse made of it.
func (c *Cluster) logErrors(t testing.TB) {
	for i, r := range c.Replicas {
		b, err := os.ReadFile(filepath.Join(r.Dir(), "log", "error.log"))
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		t.Logf("replica r%d (%s), error.log:\n%s", i+1, r.Addr(), strings.Join(lines[max(0, len(lines)-40):], "\n"))
	}
}

// serverConfig is the cluster part of replica i's config.xml. A replica's
// default_database is callpulse's, as warehouse requires. The
// ZooKeeper session is short so that a killed replica's session has
// expired by the time it restarts (a replica whose old session is still
// open refuses to start replicating for ten seconds at a time).
func serverConfig(zkPort int, ports []int, i, interserverPort int, database string) string {
	var replicas strings.Builder
	for _, p := range ports {
		fmt.Fprintf(&replicas, "<replica><host>127.0.0.1</host><port>%d</port><default_database>%s</default_database></replica>", p, database)
	}
	return fmt.Sprintf(`
<interserver_http_host>127.0.0.1</interserver_http_host><interserver_http_port>%d</interserver_http_port>
<zookeeper><node><host>127.0.0.1</host><port>%d</port></node><session_timeout_ms>2000</session_timeout_ms></zookeeper>
<distributed_ddl><path>/clickhouse/task_queue/ddl</path></distributed_ddl>
<merge_tree><zookeeper_session_expiration_check_period>1</zookeeper_session_expiration_check_period></merge_tree>
<macros><shard>01</shard><replica>r%d</replica></macros>
<remote_servers><%s><shard><internal_replication>true</internal_replication>%s</shard></%s></remote_servers>
`, interserverPort, zkPort, i+1, Name, replicas.String(), Name)
}

// DSN is the DSN of database on replica i, with the other replicas as
// alternative hosts (alt_hosts) the client fails over to.
func (c *Cluster) DSN(i int, database string) string {
	var alt []string
	for j, r := range c.Replicas {
		if j != i {
			alt = append(alt, r.Addr())
		}
	}
	return fmt.Sprintf("clickhouse://%s/%s?alt_hosts=%s", c.Replicas[i].Addr(), database, strings.Join(alt, ","))
}

// Sync waits until every replica has fetched and applied everything the
// replication log of every replicated table of database holds
// (SYSTEM SYNC REPLICA, which ClickHouse bounds by its
// receive_timeout).
func (c *Cluster) Sync(ctx context.Context, database string) error {
	for _, r := range c.Replicas {
		if err := syncReplica(ctx, r.Addr(), database); err != nil {
			return fmt.Errorf("sync replica %s: %w", r.Addr(), err)
		}
	}
	return nil
}

func syncReplica(ctx context.Context, addr, database string) error {
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, ReadTimeout: 2 * time.Minute})
	if err != nil {
		return err
	}
	defer conn.Close()
	tables, err := ReplicatedTables(ctx, conn, database)
	if err != nil {
		return err
	}
	for _, table := range tables {
		if err := conn.Exec(ctx, fmt.Sprintf("SYSTEM SYNC REPLICA %s.%s", database, table)); err != nil {
			return fmt.Errorf("sync %s: %w", table, err)
		}
	}
	return nil
}

// ReplicatedTables lists the Replicated*MergeTree tables of database on
// the server conn is connected to.
func ReplicatedTables(ctx context.Context, conn clickhouse.Conn, database string) ([]string, error) {
	rows, err := conn.Query(ctx, "SELECT name FROM system.tables WHERE database = ? AND engine LIKE 'Replicated%' ORDER BY name", database)
	if err != nil {
		return nil, fmt.Errorf("list replicated tables: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, err
		}
		out = append(out, name)
	}
	return out, rows.Err()
}
