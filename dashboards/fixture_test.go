package dashboards_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/importer"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/internal/poll"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/scoring"
	"github.com/callpulse/callpulse/spool"
	"github.com/callpulse/callpulse/warehouse"
)

// The fixture (testdata/) is November 2026 in Moscow (UTC+3), built so that
// a query that counted days in UTC, took a client's current grade instead
// of the grade at call time, or cut the period at the wrong instant would
// give other numbers than analytics does:
//
//	c7  starts 21 Nov 00:00:00 Moscow (20 Nov in UTC)      → a 21 Nov call
//	c9  starts 20 Nov 23:59:59, ends on the 21st            → a 20 Nov call
//	c13 starts 19 Nov 23:59:59, answered on the 20th        → a 19 Nov call
//	client 2 is B until re-graded A on 21 Nov: c2 (20th) is B, c8 (21st) A
//	client 4 is never graded, +79169999999 is not a client  → unknown
//	client 6 is B: a qualified lead (latest grade A or B)
//	d5 is lost at 1 Nov 00:00:00, d7 at 31 Oct 23:59:59     → only d5 in November
//	client 7's first contact is in October                  → not a November lead
//
// Talk time on 20 Nov: 101 A 274 (c1) B 120 (c2); 102 C 60 (c3) unknown 45
// (c6); 112 unknown 30 (c4); 199 A 10 (c9).
//
// Missed calls and callbacks (15–18 Nov, so that the numbers above stay;
// on 20 Nov c9 calls c5 back late and c10 stays open):
//
//	c15 → c16, outbound, 300 s              in time
//	c21 → c22, 900 s (exactly the SLA)       in time; as a lead, reached
//	                                         exactly within the SLA too
//	c18, c19 → c20, one callback for both    1200 s late, 600 s in time; owner
//	                                         112 from c17, the answered call before
//	c25 client 6, 15 Nov 00:00:00 Moscow     open, owner 101 from clients.csv
//	c24 14 Nov 23:59:59 Moscow               before the queue dashboard's range
//	c23 hidden number                        nobody to call back: left out
//	c26 cold call (outbound first contact)   not a lead for speed to lead
//
// Touches (touches.json) score the leads as of queueNow, 21 Nov 12:00
// Moscow, with the default points: client 6 35 (one touch sent as
// 8 (916) 000-00-06), crm-404 (a lead id naming no deal) 35, client 3 30 (a
// touch at queueNow counts, one a second later does not), client 8 24 (one
// touch by the lead id of its open deal d4, whose manager it gets),
// +79161234567 20 (touch t-dup re-sent as another action, a touch without
// id sent twice), +79169999999 5. Clients 1, 2, 4, 5 and those of d8 and d9
// have won or lost deals: not in the queue. Conversions in the 90 days to
// queueNow with touches before them: client 1 (d1, 45 points on 20 Nov
// 18:00; one touch by lead id, one after converting) and d8 (30 on 19 Nov);
// d9 (1 Aug) is older, d6 (1 Dec) later. Two conversions are fewer than
// min_sample 10: the threshold is the fallback, 30.
var moscow = mustLoad("Europe/Moscow")

// lineSources maps the fixture's tracking lines to ad sources.
var lineSources = map[string]string{"+74951110001": "yandex_direct", "+74951110002": "avito"}

func mustLoad(name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return loc
}

// fixtureCall is one call of testdata/calls.json; times are RFC 3339.
type fixtureCall struct {
	ID        string `json:"id"`
	Direction string `json:"direction"`
	Client    string `json:"client"`
	Line      string `json:"line"`
	Manager   string `json:"manager"`
	Status    string `json:"status"`
	Started   string `json:"started"`
	Answered  string `json:"answered"`
	Ended     string `json:"ended"`
}

// loadFixture loads testdata into a fresh database the way production
// does (clients and deals through the CSV importer and the warehouse
// upserts, calls as partial events through the spool writer) and returns
// its connection and an analytics store over it.
func loadFixture(t *testing.T) (driver.Conn, *analytics.Store) {
	t.Helper()
	ctx := context.Background()
	db, err := warehouse.Open(chtest.NewDatabase(t), warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []struct {
		file string
		at   time.Time
	}{
		{"clients.csv", time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)},
		{"clients-later.csv", time.Date(2026, 11, 21, 0, 0, 0, 0, time.UTC)},
	} {
		clients, err := importer.ReadClients(openTestdata(t, f.file), norm)
		if err != nil {
			t.Fatalf("%s: %v", f.file, err)
		}
		if err := db.UpsertClients(ctx, clients, "csv", f.at); err != nil {
			t.Fatal(err)
		}
	}
	deals, err := importer.ReadDeals(openTestdata(t, "deals.csv"), norm, moscow)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertDeals(ctx, deals, "csv", time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}

	var calls []fixtureCall
	if err := json.NewDecoder(openTestdata(t, "calls.json")).Decode(&calls); err != nil {
		t.Fatalf("calls.json: %v", err)
	}
	// Each call's first event, then a rebuild of the rollups; then the
	// rest, and a delta refresh: the panels that read the rollups read the
	// rebuild's rows of some calls and the newer facts of the others.
	var first, rest []call.Event
	for _, c := range calls {
		events := c.events(t)
		first, rest = append(first, events[0]), append(rest, events[1:]...)
	}
	writer := warehouse.NewEventWriter(db, lineSources, warehouse.NewMetrics(nil), nil)
	seq := uint64(0)
	for i, events := range [][]call.Event{first, rest} {
		var recs []spool.Record
		for _, e := range events {
			b, err := e.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			seq++
			recs = append(recs, spool.Record{Seq: seq, Data: b})
		}
		if err := writer.Write(ctx, recs); err != nil {
			t.Fatal(err)
		}
		refreshRollups(t, db, []analytics.RefreshKind{analytics.RefreshRebuild, analytics.RefreshDelta}[i])
	}
	loadTouches(t, db, norm)
	return db.Conn(), analytics.NewStore(db.Conn(), moscow)
}

// refreshRollups refreshes the rollups, which must do want, once
// ClickHouse's clock has passed every stored event by more than a second,
// so that the snapshot holds all of them: the panels that read it show
// what the API shows.
func refreshRollups(t *testing.T, db *warehouse.DB, want analytics.RefreshKind) {
	t.Helper()
	ctx := context.Background()
	if err := poll.Until(ctx, time.Minute, 100*time.Millisecond, "ClickHouse's clock passed the stored events",
		func(ctx context.Context) (bool, error) {
			var settled uint8
			err := db.Conn().QueryRow(ctx, "SELECT toUInt8(now() > (SELECT max(at) FROM calls_agg) + 1)").Scan(&settled)
			return settled == 1, err
		}); err != nil {
		t.Fatal(err)
	}
	rollup := analytics.NewRollup(db.Conn(), analytics.RollupOptions{Zone: moscow, Margin: time.Nanosecond})
	if kind, err := rollup.Refresh(ctx); err != nil || kind != want {
		t.Fatalf("refresh the rollups: %s, %v; want %s", kind, err, want)
	}
}

// fixtureTouches is one POST /api/v1/touches of testdata/touches.json: its
// body and when callpulse received it.
type fixtureTouches struct {
	Received string          `json:"received"`
	Touches  json.RawMessage `json:"touches"`
}

// loadTouches stores the touches of testdata/touches.json as the touches
// handler does: checked by scoring.ParseTouches against the default points
// table, then inserted, each request as received at its time.
func loadTouches(t *testing.T, db *warehouse.DB, norm scoring.Normalizer) {
	t.Helper()
	var reqs []fixtureTouches
	if err := json.NewDecoder(openTestdata(t, "touches.json")).Decode(&reqs); err != nil {
		t.Fatalf("touches.json: %v", err)
	}
	var actions []string
	for a := range config.Default().Scoring.Points {
		actions = append(actions, a)
	}
	for i, r := range reqs {
		received, err := time.Parse(time.RFC3339, r.Received)
		if err != nil {
			t.Fatalf("touches.json [%d]: %v", i, err)
		}
		touches, err := scoring.ParseTouches(r.Touches, norm, actions, received)
		if err != nil {
			t.Fatalf("touches.json [%d]: %v", i, err)
		}
		if err := db.InsertTouches(context.Background(), touches, received); err != nil {
			t.Fatal(err)
		}
	}
}

// events splits a call into the partial events a PBX sends: the start
// (phones, the extension it rang) and the end (answer, status, the
// extension that answered).
func (c fixtureCall) events(t *testing.T) []call.Event {
	t.Helper()
	parse := func(s string) time.Time {
		if s == "" {
			return time.Time{}
		}
		v, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatalf("call %s: %v", c.ID, err)
		}
		return v
	}
	dir, err := call.ParseDirection(c.Direction)
	if err != nil {
		t.Fatal(err)
	}
	status, err := call.ParseStatus(c.Status)
	if err != nil {
		t.Fatal(err)
	}
	base := call.Event{Provider: "generic", CallID: c.ID, ReceivedAt: parse(c.Started), Direction: dir}
	start := base
	start.EventKey, start.StartedAt, start.ClientPhone, start.LinePhone = "start", parse(c.Started), c.Client, c.Line
	start.Manager, start.ManagerRank = c.Manager, call.ManagerRang
	end := base
	end.EventKey, end.AnsweredAt, end.EndedAt, end.Status = "end", parse(c.Answered), parse(c.Ended), status
	if status == call.StatusAnswered {
		end.Manager, end.ManagerRank = c.Manager, call.ManagerAnswered
	}
	return []call.Event{start, end}
}

func openTestdata(t *testing.T, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// result is what a query returned, with values as the driver scans them.
type result struct {
	cols  []string
	types []string
	rows  [][]any
}

// runQuery runs sql and reads every row generically.
func runQuery(ctx context.Context, conn driver.Conn, sql string) (result, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return result{}, err
	}
	defer rows.Close()
	var r result
	cts := rows.ColumnTypes()
	for _, ct := range cts {
		r.cols = append(r.cols, ct.Name())
		r.types = append(r.types, ct.DatabaseTypeName())
	}
	for rows.Next() {
		ptrs := make([]any, len(cts))
		for i, ct := range cts {
			ptrs[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(ptrs...); err != nil {
			return result{}, err
		}
		row := make([]any, len(ptrs))
		for i, p := range ptrs {
			row[i] = reflect.ValueOf(p).Elem().Interface()
		}
		r.rows = append(r.rows, row)
	}
	return r, rows.Err()
}

func (r result) index(t *testing.T, col string) int {
	t.Helper()
	for i, c := range r.cols {
		if c == col {
			return i
		}
	}
	t.Fatalf("no column %q in %v", col, r.cols)
	return -1
}

// num is a numeric cell as float64 (exact for the integers involved).
func (r result) num(t *testing.T, row int, col string) float64 {
	t.Helper()
	switch v := r.rows[row][r.index(t, col)].(type) {
	case uint8:
		return float64(v)
	case uint32:
		return float64(v)
	case uint64:
		return float64(v)
	case int64:
		return float64(v)
	case float64:
		return v
	default:
		t.Fatalf("column %s: %T is not a number", col, v)
		return 0
	}
}

// optNum is a Nullable numeric cell: its value, or false for NULL.
func (r result) optNum(t *testing.T, row int, col string) (float64, bool) {
	t.Helper()
	switch v := r.rows[row][r.index(t, col)].(type) {
	case *int64:
		if v == nil {
			return 0, false
		}
		return float64(*v), true
	case *uint64:
		if v == nil {
			return 0, false
		}
		return float64(*v), true
	default:
		t.Fatalf("column %s: %T is not a nullable integer", col, v)
		return 0, false
	}
}

// optTime is a Nullable(DateTime) cell: its value, or the zero time for
// NULL.
func (r result) optTime(t *testing.T, row int, col string) time.Time {
	t.Helper()
	v, ok := r.rows[row][r.index(t, col)].(*time.Time)
	if !ok {
		t.Fatalf("column %s: %T is not a nullable time", col, r.rows[row][r.index(t, col)])
	}
	if v == nil {
		return time.Time{}
	}
	return *v
}

func (r result) str(t *testing.T, row int, col string) string {
	t.Helper()
	v, ok := r.rows[row][r.index(t, col)].(string)
	if !ok {
		t.Fatalf("column %s: %T is not a string", col, r.rows[row][r.index(t, col)])
	}
	return v
}

func (r result) time(t *testing.T, row int, col string) time.Time {
	t.Helper()
	v, ok := r.rows[row][r.index(t, col)].(time.Time)
	if !ok {
		t.Fatalf("column %s: %T is not a time", col, r.rows[row][r.index(t, col)])
	}
	return v
}
