package warehouse

import (
	goflag "flag"
	"os"
	"regexp"
	"strings"
	"testing"
)

var update = goflag.Bool("update", false, "rewrite testdata/cluster/*.golden from the current output")

// rewriteAll runs every statement of sql through a fresh cluster schema.
func rewriteAll(t *testing.T, s *clusterSchema, stmts []string) []string {
	t.Helper()
	var out []string
	for _, stmt := range stmts {
		got, err := s.rewrite(stmt)
		if err != nil {
			t.Fatalf("rewrite %q: %v", head(stmt), err)
		}
		out = append(out, got...)
	}
	return out
}

// TestClusterRewriteGolden shows the rewrite of each statement kind.
func TestClusterRewriteGolden(t *testing.T) {
	in, err := os.ReadFile("testdata/cluster/schema.sql")
	if err != nil {
		t.Fatal(err)
	}
	out := rewriteAll(t, newClusterSchema("callpulse", "cp"), splitStatements(string(in)))
	got := strings.Join(out, ";\n\n") + ";\n"
	const golden = "testdata/cluster/schema.golden"
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Errorf("rewrite of schema.sql differs from %s (go test -run ClusterRewriteGolden -update to accept):\n%s", golden, got)
	}
}

func TestClusterRewriteRefuses(t *testing.T) {
	tests := []struct{ name, stmt, want string }{
		{"replicated engine", "CREATE TABLE t (k String) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY k", "engine ReplicatedMergeTree"},
		{"unreplicable engine", "CREATE TABLE t (k String) ENGINE = Memory", "engine Memory"},
		{"no engine", "CREATE TABLE t AS other", "names no ENGINE"},
		{"create as select", "CREATE TABLE t ENGINE = MergeTree ORDER BY k AS SELECT 'a' AS k", "AS SELECT"},
		{"qualified name", "CREATE TABLE db.t (k String) ENGINE = MergeTree ORDER BY k", "bare"},
		{"reserved suffix", "CREATE TABLE t_local (k String) ENGINE = MergeTree ORDER BY k", "reserved"},
		{"view with inner table", "CREATE MATERIALIZED VIEW v ENGINE = MergeTree ORDER BY k AS SELECT k FROM events", "want TO"},
		{"view to unknown table", "CREATE MATERIALIZED VIEW v TO nowhere AS SELECT k FROM events", "no migration created"},
		{"view without source", "CREATE MATERIALIZED VIEW v TO events AS SELECT 1 AS k", "cannot find the table"},
		{"other statement", "OPTIMIZE TABLE events FINAL", "cannot apply"},
		{"rename", "RENAME TABLE events TO events2", "cannot apply"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newClusterSchema("callpulse", "cp")
			rewriteAll(t, s, []string{"CREATE TABLE events (k String) ENGINE = MergeTree ORDER BY k"})
			_, err := s.rewrite(tt.stmt)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("rewrite(%q) = %v, want an error containing %q", tt.stmt, err, tt.want)
			}
		})
	}
}

var (
	onCluster     = regexp.MustCompile(` ON CLUSTER callpulse\b`)
	mergeTreeDDL  = regexp.MustCompile(`(?s)^CREATE TABLE (IF NOT EXISTS )?(\w+)\.(\w+) .*ENGINE = (\w*)MergeTree`)
	materialized  = regexp.MustCompile(`^CREATE MATERIALIZED VIEW `)
	distributedOf = regexp.MustCompile(`ENGINE = Distributed\(callpulse, cp, (\w+)\)$`)
)

// TestClusterRewriteMigrations checks every embedded migration, present and
// future, against the rules of cluster.go: every MergeTree-family table is
// replicated and has a Distributed table, every DDL statement runs ON
// CLUSTER and names the tables of the schema with their database, and
// materialized views read local tables.
func TestClusterRewriteMigrations(t *testing.T) {
	migrations, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	s := newClusterSchema("callpulse", "cp")
	stmts := []string{createSchemaMigrations}
	for _, m := range migrations {
		stmts = append(stmts, m.Statements...)
	}
	out := rewriteAll(t, s, stmts)
	replicated, distributed := map[string]bool{}, map[string]bool{}
	for _, stmt := range out {
		if strings.HasPrefix(stmt, "INSERT") {
			continue
		}
		if !onCluster.MatchString(stmt) {
			t.Errorf("not ON CLUSTER: %s", head(stmt))
		}
		if m := mergeTreeDDL.FindStringSubmatch(stmt); m != nil {
			if !strings.HasPrefix(m[4], "Replicated") || !strings.HasSuffix(m[3], localSuffix) {
				t.Errorf("MergeTree table not replicated and local: %s", head(stmt))
			}
			replicated[m[3]] = true
		}
		if m := distributedOf.FindStringSubmatch(stmt); m != nil {
			distributed[m[1]] = true
		}
		toks := tokenize(stmt)
		for _, i := range tableRefs(toks) {
			if s.known[toks[i].text] || s.split[toks[i].text] {
				t.Errorf("table %s not qualified with the database in: %s", toks[i].text, stmt)
			}
		}
		if materialized.MatchString(stmt) {
			body := stmt[strings.Index(stmt, " AS ")+1:]
			btoks := tokenize(body)
			src := sourceTable(btoks)
			if src < 0 {
				t.Errorf("materialized view without a source table: %s", head(stmt))
				continue
			}
			name := btoks[src].text
			if src+2 < len(btoks) && btoks[src+1].text == "." {
				name = btoks[src+2].text
			}
			if s.split[name] {
				t.Errorf("materialized view reads %s, not its local table: %s", name, head(stmt))
			}
		}
	}
	for name := range replicated {
		if !distributed[name] {
			t.Errorf("replicated table %s has no Distributed table", name)
		}
	}
	for _, name := range []string{"call_events", "schema_migrations", "calls_agg"} {
		if !s.split[name] {
			t.Errorf("%s is not replicated", name)
		}
	}
}
