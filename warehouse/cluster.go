package warehouse

import (
	"fmt"
	"regexp"
	"strings"
)

// Cluster mode (clickhouse.cluster, docs/operations.md "Scale-out").
//
// The migrations are written for one server. On a cluster of one shard
// with several replicas, clusterSchema rewrites each statement as it is
// applied, so that every migration, present and future, runs unchanged:
//
//   - CREATE TABLE x (...) ENGINE = XMergeTree(args) becomes a local table
//     x_local ON CLUSTER with ENGINE = ReplicatedXMergeTree(
//     '/clickhouse/tables/{shard}/<database>/x', '{replica}', args), and a
//     table x ON CLUSTER with ENGINE = Distributed(cluster, database,
//     x_local). Everything callpulse reads and writes names x, so its
//     queries are the same in both modes.
//   - A materialized view fires on the server where a block is inserted
//     into its source table, which is the local table on one replica (the
//     Distributed table hands each insert to one replica of the shard).
//     So a view reads x_local and writes y_local: its output is then
//     replicated like any insert, and it runs once per block, not once per
//     replica.
//   - Views, Null tables and DROP TABLE run ON CLUSTER; ALTER TABLE alters
//     the local table ON CLUSTER (and re-creates the Distributed table when
//     columns change: 18.16 refuses ALTER ... ON CLUSTER on it).
//   - INSERT runs once, on the server callpulse is connected to: rows go
//     through the Distributed tables (or Null tables with views, as in the
//     backfill of 0008) and replicate from there.
//
// Statements executed ON CLUSTER run on every server from the distributed
// DDL queue, whose current database is not callpulse's, so every table name
// is qualified with the database, including those inside view queries.
// Anything else (another engine, a view without TO, OPTIMIZE, RENAME...) is
// refused with an error rather than half applied: extend this file when a
// migration needs it, and TestClusterRewriteMigrations proves every
// embedded migration rewrites.
//
// Only one shard is supported: analytics queries join and fold across
// tables, which on several shards would need sharding by call and phone
// and GLOBAL joins. Migrate checks the cluster has exactly one shard, and
// the Distributed tables have no sharding key, so that inserts fail rather
// than scatter if a shard is added later.
type clusterSchema struct {
	cluster  string
	database string
	split    map[string]bool // tables made of x_local and a Distributed x
	known    map[string]bool // every table and view created so far
}

// localSuffix names a split table's replicated local table.
const localSuffix = "_local"

func newClusterSchema(cluster, database string) *clusterSchema {
	return &clusterSchema{cluster: cluster, database: database, split: map[string]bool{}, known: map[string]bool{}}
}

var (
	createStmt = regexp.MustCompile(`(?is)^CREATE\s+(TABLE|VIEW|MATERIALIZED\s+VIEW)\s+(IF\s+NOT\s+EXISTS\s+)?([A-Za-z0-9_.` + "`" + `]+)\s*(.*)$`)
	dropStmt   = regexp.MustCompile(`(?is)^DROP\s+TABLE\s+(IF\s+EXISTS\s+)?([A-Za-z0-9_.` + "`" + `]+)$`)
	alterStmt  = regexp.MustCompile(`(?is)^ALTER\s+TABLE\s+([A-Za-z0-9_.` + "`" + `]+)\s+(.*)$`)
	insertStmt = regexp.MustCompile(`(?is)^INSERT\s+INTO\s`)
	columnEdit = regexp.MustCompile(`(?i)\b(ADD|DROP|MODIFY|CLEAR|COMMENT)\s+COLUMN\b`)
	bareName   = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
)

// rewrite returns the statements that apply stmt on the cluster. It must
// see every statement of every migration in order, applied before or not,
// to know which tables are split.
func (s *clusterSchema) rewrite(stmt string) ([]string, error) {
	stmt = strings.TrimSpace(stmt)
	if insertStmt.MatchString(stmt) {
		return []string{stmt}, nil
	}
	if m := createStmt.FindStringSubmatch(stmt); m != nil {
		return s.create(strings.ToUpper(strings.Join(strings.Fields(m[1]), " ")), m[2] != "", m[3], m[4])
	}
	if m := dropStmt.FindStringSubmatch(stmt); m != nil {
		return s.drop(m[1] != "", m[2])
	}
	if m := alterStmt.FindStringSubmatch(stmt); m != nil {
		return s.alter(m[1], m[2])
	}
	return nil, fmt.Errorf("cluster mode cannot apply %q: only CREATE TABLE/VIEW/MATERIALIZED VIEW, DROP TABLE, ALTER TABLE and INSERT are rewritten (warehouse/cluster.go)", head(stmt))
}

// create rewrites CREATE kind [IF NOT EXISTS] name rest.
func (s *clusterSchema) create(kind string, ifNotExists bool, name, rest string) ([]string, error) {
	name, err := s.name(name)
	if err != nil {
		return nil, err
	}
	ine := ""
	if ifNotExists {
		ine = "IF NOT EXISTS "
	}
	var out []string
	switch kind {
	case "TABLE":
		out, err = s.createTable(ine, name, rest)
	case "VIEW":
		out, err = s.createView(ine, name, rest)
	default:
		out, err = s.createMaterializedView(ine, name, rest)
	}
	if err != nil {
		return nil, err
	}
	s.known[name] = true
	return out, nil
}

// drop drops a table or view on every server, and a split table's local
// table too.
func (s *clusterSchema) drop(ifExists bool, name string) ([]string, error) {
	name, err := s.name(name)
	if err != nil {
		return nil, err
	}
	ie := ""
	if ifExists {
		ie = "IF EXISTS "
	}
	out := []string{fmt.Sprintf("DROP TABLE %s%s ON CLUSTER %s", ie, s.qual(name), s.cluster)}
	if s.split[name] {
		out = append(out, fmt.Sprintf("DROP TABLE %s%s ON CLUSTER %s", ie, s.qual(name+localSuffix), s.cluster))
	}
	delete(s.split, name)
	delete(s.known, name)
	return out, nil
}

// alter alters a split table's local table on every server (replication
// keeps its replicas in step); a column change also re-creates the
// Distributed table, which 18.16 will not ALTER ON CLUSTER ("isn't
// replicated, but shard #1 is replicated").
func (s *clusterSchema) alter(name, commands string) ([]string, error) {
	name, err := s.name(name)
	if err != nil {
		return nil, err
	}
	if !s.split[name] {
		return []string{fmt.Sprintf("ALTER TABLE %s ON CLUSTER %s %s", s.qual(name), s.cluster, commands)}, nil
	}
	out := []string{fmt.Sprintf("ALTER TABLE %s ON CLUSTER %s %s", s.qual(name+localSuffix), s.cluster, commands)}
	if columnEdit.MatchString(commands) {
		out = append(out, fmt.Sprintf("DROP TABLE IF EXISTS %s ON CLUSTER %s", s.qual(name), s.cluster),
			s.distributed("IF NOT EXISTS ", name))
	}
	return out, nil
}

// createTable splits a MergeTree-family table and creates a Null table on
// every server.
func (s *clusterSchema) createTable(ine, name, rest string) ([]string, error) {
	toks := tokenize(rest)
	eng := -1
	for i := 0; i+2 < len(toks); i++ {
		if toks[i].depth == 0 && toks[i].is("ENGINE") && toks[i+1].text == "=" && toks[i+2].kind == tokWord {
			eng = i
			break
		}
	}
	if eng < 0 {
		return nil, fmt.Errorf("cluster mode: CREATE TABLE %s names no ENGINE", name)
	}
	for i := eng; i+1 < len(toks); i++ {
		if toks[i].depth == 0 && toks[i].is("AS") && toks[i+1].is("SELECT") {
			return nil, fmt.Errorf("cluster mode: CREATE TABLE %s ... AS SELECT is not supported: create the table, then INSERT", name)
		}
	}
	// AS other: the structure of another table, qualified.
	repl := map[int]string{}
	for i := 0; i+1 < eng; i++ {
		if toks[i].depth == 0 && toks[i].is("AS") && toks[i+1].kind == tokWord && (i+2 >= len(toks) || toks[i+2].text != ".") {
			repl[i+1] = s.qual(toks[i+1].text)
		}
	}
	engine := toks[eng+2].text
	switch {
	case engine == "Null":
		body := replaceTokens(rest, toks, repl)
		return []string{fmt.Sprintf("CREATE TABLE %s%s ON CLUSTER %s %s", ine, s.qual(name), s.cluster, body)}, nil
	case strings.HasPrefix(engine, "Replicated") || !strings.HasSuffix(engine, "MergeTree"):
		return nil, fmt.Errorf("cluster mode: CREATE TABLE %s: engine %s is not supported (MergeTree family, unreplicated, or Null)", name, engine)
	}
	args, end := "", eng+2
	if end+1 < len(toks) && toks[end+1].text == "(" {
		c := closing(toks, end+1)
		if c < 0 {
			return nil, fmt.Errorf("cluster mode: CREATE TABLE %s: unbalanced parentheses after %s", name, engine)
		}
		args = strings.TrimSpace(rest[toks[end+1].end:toks[c].start])
		end = c
	}
	replicated := fmt.Sprintf("Replicated%s('/clickhouse/tables/{shard}/%s/%s', '{replica}'", engine, s.database, name)
	if args != "" {
		replicated += ", " + args
	}
	replicated += ")"
	pre := strings.TrimSpace(replaceTokens(rest[:toks[eng].start], toks[:eng], repl))
	local := fmt.Sprintf("CREATE TABLE %s%s ON CLUSTER %s %s ENGINE = %s%s",
		ine, s.qual(name+localSuffix), s.cluster, pre, replicated, rest[toks[end].end:])
	s.split[name] = true
	return []string{local, s.distributed(ine, name)}, nil
}

// distributed is the Distributed table x over x_local on every server.
func (s *clusterSchema) distributed(ine, name string) string {
	return fmt.Sprintf("CREATE TABLE %s%s ON CLUSTER %s AS %s ENGINE = Distributed(%s, %s, %s)",
		ine, s.qual(name), s.cluster, s.qual(name+localSuffix), s.cluster, s.database, name+localSuffix)
}

// createView creates a view on every server, reading what it read (split
// tables through their Distributed tables).
func (s *clusterSchema) createView(ine, name, rest string) ([]string, error) {
	toks := tokenize(rest)
	if len(toks) == 0 || !toks[0].is("AS") {
		return nil, fmt.Errorf("cluster mode: CREATE VIEW %s: want AS SELECT", name)
	}
	return []string{fmt.Sprintf("CREATE VIEW %s%s ON CLUSTER %s %s", ine, s.qual(name), s.cluster, s.qualify(rest, toks, -1))}, nil
}

// createMaterializedView creates the view on every server, reading the
// local table of its source and writing the local table of its target.
func (s *clusterSchema) createMaterializedView(ine, name, rest string) ([]string, error) {
	toks := tokenize(rest)
	if len(toks) < 4 || !toks[0].is("TO") || toks[1].kind != tokWord || !toks[2].is("AS") {
		return nil, fmt.Errorf("cluster mode: CREATE MATERIALIZED VIEW %s: want TO <table> AS SELECT (a view's own inner table is not supported)", name)
	}
	target := toks[1].text
	if !s.known[target] {
		return nil, fmt.Errorf("cluster mode: materialized view %s writes to %s, which no migration created", name, target)
	}
	if s.split[target] {
		target += localSuffix
	}
	body := rest[toks[2].start:]
	bodyToks := tokenize(body)
	src := sourceTable(bodyToks)
	if src < 0 {
		return nil, fmt.Errorf("cluster mode: materialized view %s: cannot find the table it reads", name)
	}
	return []string{fmt.Sprintf("CREATE MATERIALIZED VIEW %s%s ON CLUSTER %s TO %s %s",
		ine, s.qual(name), s.cluster, s.qual(target), s.qualify(body, bodyToks, src))}, nil
}

// qualify prefixes the database to the tables a query names after FROM and
// JOIN that migrations created; toks[local], a split table, becomes its
// local table.
func (s *clusterSchema) qualify(sql string, toks []token, local int) string {
	repl := map[int]string{}
	for _, i := range tableRefs(toks) {
		name := toks[i].text
		switch {
		case i == local && s.split[name]:
			repl[i] = s.qual(name + localSuffix)
		case s.known[name]:
			repl[i] = s.qual(name)
		}
	}
	return replaceTokens(sql, toks, repl)
}

// name checks that a migration names a table without its database (the
// database is the DSN's) and returns it.
func (s *clusterSchema) name(n string) (string, error) {
	if !bareName.MatchString(n) {
		return "", fmt.Errorf("cluster mode: table name %q: migrations name tables bare, without database or quotes", n)
	}
	if strings.HasSuffix(n, localSuffix) {
		return "", fmt.Errorf("cluster mode: table name %q: the suffix %s is reserved for the local tables of the cluster", n, localSuffix)
	}
	return n, nil
}

func (s *clusterSchema) qual(name string) string { return s.database + "." + name }

// head is the start of a statement, for errors.
func head(stmt string) string {
	stmt = strings.Join(strings.Fields(stmt), " ")
	if len(stmt) > 60 {
		return stmt[:60] + "..."
	}
	return stmt
}
