package dashboards_test

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/deal"
)

// chPanels are the columns every ClickHouse panel must return, in order;
// with the fixture every one of them returns rows for its test range.
var chPanels = map[string][]string{
	"callpulse-overview/Talk time by extension and grade": {"extension", "a_seconds", "b_seconds", "c_seconds", "unknown_seconds",
		"total_seconds", "a_share", "b_share", "c_share", "unknown_share", "calls"},
	"callpulse-overview/Calls by status":                       {"status", "calls"},
	"callpulse-overview/Funnel per ad source":                  funnelColumns,
	"callpulse-manager/Talk time per day by grade":             {"time", "A", "B", "C", "unknown"},
	"callpulse-manager/Share per day vs target":                {"time", "A", "B", "C", "unknown"},
	"callpulse-manager/Share over the range vs target":         {"A", "B", "C", "unknown", "total_seconds", "calls"},
	"callpulse-manager/Calls by status":                        {"answered", "missed", "busy", "failed", "cancelled"},
	"callpulse-sources/Funnel per ad source":                   funnelColumns,
	"callpulse-sources/Refusal reasons per source and manager": {"reason", "source", "manager", "deals"},
	"callpulse-queue/Queue published":                          {"last_published"},
	"callpulse-queue/Call queue: open leads by score": {"phone", "lead_id", "name", "grade", "source", "manager",
		"score", "last_touch_at", "above_threshold"},
	"callpulse-queue/Touches per action": {"time", "action", "touches"},
	"callpulse-queue/Missed calls and callbacks": {"at", "phone", "source", "owner", "called_back_at",
		"callback_seconds", "callback"},
	"callpulse-queue/Speed to lead per manager and source": {"manager", "source", "leads", "reached",
		"median_seconds", "p90_seconds", "within_sla"},
}

var funnelColumns = []string{"source", "leads", "reached", "qualified", "won", "revenue", "unreachable_rate", "conversion"}

// testRanges are the days each dashboard is queried for: the fixture day,
// the days around it, the fixture month, the week up to queueNow.
var testRanges = map[string][2]string{
	"callpulse-overview": {"2026-11-20", "2026-11-20"},
	"callpulse-manager":  {"2026-11-19", "2026-11-21"},
	"callpulse-sources":  {"2026-11-01", "2026-11-30"},
	"callpulse-queue":    {"2026-11-15", "2026-11-21"},
}

// testNows are the "now" of the dashboards whose range ends now (to:
// "now"): their test range ends there instead of at the last day's end.
var testNows = map[string]time.Time{
	"callpulse-queue": queueNow,
}

// chEnv runs a dashboard's ClickHouse queries as the plugin would.
type chEnv struct {
	conn driver.Conn
	d    *dashboard
	vars map[string]varValue
	r    chRequest
}

func newCHEnv(t *testing.T, conn driver.Conn, d *dashboard) *chEnv {
	t.Helper()
	days, ok := testRanges[d.UID]
	if !ok {
		t.Fatalf("%s: no test range", d.UID)
	}
	e := &chEnv{conn: conn, d: d, vars: map[string]varValue{}, r: dayRange(t, days[0], days[1], moscow)}
	if now, ok := testNows[d.UID]; ok {
		if d.Time.To != "now" {
			t.Fatalf("%s: has a test now but its range ends at %q", d.UID, d.Time.To)
		}
		e.r.to = now
	}
	for _, v := range d.Templating.List {
		switch v.Type {
		case "constant":
			e.vars[v.Name] = single(v.queryText())
		case "query":
			if v.Datasource == nil || v.Datasource.Type != clickhouseType {
				continue // Prometheus variables: prometheus_test.go
			}
			// Like Grafana: run the variable's query, then select All.
			res, err := e.run(v.queryText())
			if err != nil || len(res.cols) != 1 || len(res.rows) == 0 {
				t.Fatalf("%s variable %s: %v, %v", d.UID, v.Name, res.cols, err)
			}
			all := varValue{all: true, multi: v.Multi || v.IncludeAll, allVal: v.AllValue}
			for i := range res.rows {
				all.values = append(all.values, res.str(t, i, res.cols[0]))
			}
			e.vars[v.Name] = all
		}
	}
	return e
}

// sql is a panel's query as ClickHouse receives it.
func (e *chEnv) sql(raw string) (string, error) {
	s, err := interpolate(raw, e.vars, clickhouseFormat)
	if err != nil {
		return "", err
	}
	return expandMacros(s, e.r)
}

func (e *chEnv) run(raw string) (result, error) {
	s, err := e.sql(raw)
	if err != nil {
		return result{}, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := runQuery(ctx, e.conn, s)
	if err != nil {
		return result{}, fmt.Errorf("%w\n%s", err, s)
	}
	return res, nil
}

// panel runs the query of the panel titled title.
func (e *chEnv) panel(t *testing.T, title string) result {
	t.Helper()
	for _, p := range e.d.leafPanels() {
		if p.Title == title && len(p.Targets) > 0 {
			res, err := e.run(p.Targets[0].RawSQL)
			if err != nil {
				t.Fatalf("%s: %v", p.name(e.d), err)
			}
			return res
		}
	}
	t.Fatalf("%s: no panel %q", e.d.UID, title)
	return result{}
}

// TestClickHouse runs every ClickHouse query of the dashboards against the
// fixture and compares the numbers with analytics, whose SQL the API uses.
func TestClickHouse(t *testing.T) {
	conn, store := loadFixture(t)
	publishQueue(t, conn)
	envs := map[string]*chEnv{}
	for _, d := range loadDashboards(t) {
		if _, ok := testRanges[d.UID]; ok {
			envs[d.UID] = newCHEnv(t, conn, d)
		}
	}
	t.Run("every query", func(t *testing.T) { testEveryCHQuery(t, envs) })
	t.Run("overview talk time is the API's", func(t *testing.T) { testOverviewTalk(t, envs["callpulse-overview"], store) })
	t.Run("overview calls by status", func(t *testing.T) { testCallsByStatus(t, envs["callpulse-overview"], store) })
	t.Run("manager drill-down", func(t *testing.T) { testManager(t, envs["callpulse-manager"], store) })
	t.Run("funnel", func(t *testing.T) {
		testFunnel(t, envs["callpulse-sources"], store, "2026-11-01", "2026-11-30")
		testFunnel(t, envs["callpulse-overview"], store, "2026-11-20", "2026-11-20")
	})
	t.Run("refusals", func(t *testing.T) { testRefusals(t, envs["callpulse-sources"], store) })
	t.Run("queue and threshold are scoring's", func(t *testing.T) { testQueue(t, envs["callpulse-queue"], conn) })
	t.Run("touches per action", func(t *testing.T) { testTouchesPerAction(t, envs["callpulse-queue"]) })
	t.Run("missed calls are the API's", func(t *testing.T) { testMissed(t, envs["callpulse-queue"], store) })
	t.Run("speed to lead is the API's", func(t *testing.T) { testSpeed(t, envs["callpulse-queue"], store) })
}

func testEveryCHQuery(t *testing.T, envs map[string]*chEnv) {
	seen := map[string]bool{}
	for _, d := range loadDashboards(t) {
		e := envs[d.UID]
		columns := map[int][]string{} // panel id -> columns, for "-- Dashboard --" panels
		for _, p := range d.leafPanels() {
			if p.Datasource == nil || p.Datasource.Type != clickhouseType {
				continue
			}
			if e == nil {
				t.Errorf("%s: ClickHouse panel in a dashboard without a test range", p.name(d))
				continue
			}
			want, ok := chPanels[p.name(d)]
			if !ok {
				t.Errorf("%s: not in chPanels: add the columns it must return", p.name(d))
				continue
			}
			seen[p.name(d)] = true
			for _, tg := range p.Targets {
				res, err := e.run(tg.RawSQL)
				if err != nil {
					t.Errorf("%s %s: %v", p.name(d), tg.RefID, err)
					continue
				}
				if !slices.Equal(res.cols, want) || len(res.rows) == 0 {
					t.Errorf("%s %s: columns %v and %d rows; want %v and rows", p.name(d), tg.RefID, res.cols, len(res.rows), want)
				}
				if tg.QueryType == "timeseries" && (len(res.types) == 0 || !strings.HasPrefix(res.types[0], "DateTime")) {
					t.Errorf("%s %s: a time series needs a DateTime first column, got %v", p.name(d), tg.RefID, res.types)
				}
				columns[p.ID] = res.cols
				checkFieldRefs(t, d, p, res.cols)
			}
		}
		for _, p := range d.leafPanels() {
			if p.Datasource == nil || p.Datasource.Type != dashboardType {
				continue
			}
			cols, ok := columns[p.Targets[0].PanelID]
			if !ok {
				t.Errorf("%s: its source panel %d returned nothing", p.name(d), p.Targets[0].PanelID)
				continue
			}
			out, err := transformColumns(cols, p.Transformations)
			if err != nil {
				t.Errorf("%s: %v", p.name(d), err)
				continue
			}
			checkFieldRefs(t, d, p, out)
		}
	}
	for name := range chPanels {
		if !seen[name] {
			t.Errorf("chPanels names %s, which is not a ClickHouse panel", name)
		}
	}
}

// checkFieldRefs checks that what a panel's options and overrides name by
// field name exists among the fields it gets.
func checkFieldRefs(t *testing.T, d *dashboard, p panel, cols []string) {
	t.Helper()
	for _, o := range p.FieldConfig.Overrides {
		if name, ok := o.Matcher.Options.(string); ok && o.Matcher.ID == "byName" && !slices.Contains(cols, name) {
			t.Errorf("%s: override for field %q, which the query does not return (%v)", p.name(d), name, cols)
		}
	}
	var opts struct {
		XField        string `json:"xField"`
		ReduceOptions struct {
			Fields string `json:"fields"`
		} `json:"reduceOptions"`
	}
	_ = json.Unmarshal(p.Options, &opts)
	if opts.XField != "" && !slices.Contains(cols, opts.XField) {
		t.Errorf("%s: xField %q not among %v", p.name(d), opts.XField, cols)
	}
	if f := opts.ReduceOptions.Fields; f != "" {
		re, err := regexp.Compile(strings.TrimSuffix(strings.TrimPrefix(f, "/"), "/"))
		if err != nil || !slices.ContainsFunc(cols, re.MatchString) {
			t.Errorf("%s: reduceOptions.fields %s matches none of %v (%v)", p.name(d), f, cols, err)
		}
	}
}

// transformColumns gives the fields after the transformations the
// dashboards use, checking that every field they name exists.
func transformColumns(cols []string, ts []transformation) ([]string, error) {
	has := func(name string) error {
		if !slices.Contains(cols, name) {
			return fmt.Errorf("transformation names field %q, not among %v", name, cols)
		}
		return nil
	}
	for _, tr := range ts {
		switch tr.ID {
		case "organize":
			var o struct {
				ExcludeByName map[string]bool   `json:"excludeByName"`
				RenameByName  map[string]string `json:"renameByName"`
			}
			if err := json.Unmarshal(tr.Options, &o); err != nil {
				return nil, err
			}
			var out []string
			for name := range o.ExcludeByName {
				if err := has(name); err != nil {
					return nil, err
				}
			}
			for name := range o.RenameByName {
				if err := has(name); err != nil {
					return nil, err
				}
			}
			for _, c := range cols {
				if !o.ExcludeByName[c] {
					out = append(out, cmp.Or(o.RenameByName[c], c))
				}
			}
			cols = out
		case "groupBy":
			var o struct {
				Fields map[string]struct {
					Operation    string   `json:"operation"`
					Aggregations []string `json:"aggregations"`
				} `json:"fields"`
			}
			if err := json.Unmarshal(tr.Options, &o); err != nil {
				return nil, err
			}
			var out []string
			for _, c := range cols { // group-by fields first, then aggregates
				if f, ok := o.Fields[c]; ok && f.Operation == "groupby" {
					out = append(out, c)
				}
			}
			for _, c := range cols {
				if f, ok := o.Fields[c]; ok && f.Operation == "aggregate" {
					for _, a := range f.Aggregations {
						out = append(out, fmt.Sprintf("%s (%s)", c, a))
					}
				}
			}
			for name := range o.Fields {
				if err := has(name); err != nil {
					return nil, err
				}
			}
			cols = out
		case "sortBy":
			var o struct {
				Sort []struct {
					Field string `json:"field"`
				} `json:"sort"`
			}
			if err := json.Unmarshal(tr.Options, &o); err != nil {
				return nil, err
			}
			for _, s := range o.Sort {
				if err := has(s.Field); err != nil {
					return nil, err
				}
			}
		default:
			return nil, fmt.Errorf("transformation %q is not modelled by the test", tr.ID)
		}
	}
	return cols, nil
}

// talkCells sums analytics talk rows per key.
type talkCells map[string]map[client.Category]float64

func period(t *testing.T, from, to string) analytics.Period {
	t.Helper()
	p, err := analytics.ParsePeriod(from, to, moscow)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func testOverviewTalk(t *testing.T, e *chEnv, store *analytics.Store) {
	rows, err := store.TalkTime(context.Background(), period(t, "2026-11-20", "2026-11-20"), nil)
	if err != nil {
		t.Fatal(err)
	}
	seconds, calls := talkCells{}, map[string]float64{}
	for _, r := range rows {
		if seconds[r.Extension] == nil {
			seconds[r.Extension] = map[client.Category]float64{}
		}
		seconds[r.Extension][r.Category] += float64(r.Seconds)
		calls[r.Extension] += float64(r.Calls)
	}
	// The fixture's own expectation, so that a broken fixture cannot make
	// both sides trivially equal.
	want := talkCells{
		"101": {client.CategoryA: 274, client.CategoryB: 120},
		"102": {client.CategoryC: 60, client.CategoryUnknown: 45},
		"112": {client.CategoryUnknown: 30},
		"199": {client.CategoryA: 10},
	}
	if !reflect.DeepEqual(seconds, want) {
		t.Fatalf("analytics talk time on 2026-11-20 = %v, the fixture says %v", seconds, want)
	}

	res := e.panel(t, "Talk time by extension and grade")
	if len(res.rows) != len(seconds) {
		t.Errorf("dashboard has %d extensions, analytics %d", len(res.rows), len(seconds))
	}
	for i := range res.rows {
		ext := res.str(t, i, "extension")
		cells := seconds[ext]
		total := 0.0
		for _, s := range cells {
			total += s
		}
		got := map[string]float64{}
		wantRow := map[string]float64{"total_seconds": total, "calls": calls[ext]}
		for _, c := range client.Categories() {
			col := strings.ToLower(string(c))
			wantRow[col+"_seconds"] = cells[c]
			wantRow[col+"_share"] = cells[c] / total
		}
		for col := range wantRow {
			got[col] = res.num(t, i, col)
		}
		if !reflect.DeepEqual(got, wantRow) {
			t.Errorf("extension %s: dashboard %v, analytics %v", ext, got, wantRow)
		}
	}
}

func testCallsByStatus(t *testing.T, e *chEnv, store *analytics.Store) {
	want, err := store.CallsByStatus(context.Background(), period(t, "2026-11-20", "2026-11-20"))
	if err != nil {
		t.Fatal(err)
	}
	res := e.panel(t, "Calls by status")
	var got []analytics.StatusCount
	for i := range res.rows {
		got = append(got, analytics.StatusCount{Status: res.str(t, i, "status"), Calls: uint64(res.num(t, i, "calls"))})
	}
	if !reflect.DeepEqual(got, want) || len(want) < 3 {
		t.Errorf("calls by status: dashboard %v, analytics %v", got, want)
	}
}

func testManager(t *testing.T, e *chEnv, store *analytics.Store) {
	all := e.vars["manager"]
	if want := []string{"101", "102", "112", "199"}; !slices.Equal(all.values, want) {
		t.Errorf("manager variable offers %v, want %v", all.values, want)
	}
	defer func() { e.vars["manager"] = all }()
	for _, sel := range []varValue{all, {values: []string{"101"}, multi: true}, {values: []string{"102", "112"}, multi: true}} {
		e.vars["manager"] = sel
		rows, err := store.TalkTime(context.Background(), period(t, "2026-11-19", "2026-11-21"), sel.values)
		if err != nil {
			t.Fatal(err)
		}
		perDay, total := talkCells{}, map[client.Category]float64{}
		var sum, calls float64
		for _, r := range rows {
			day := r.Day.Format(time.DateOnly)
			if perDay[day] == nil {
				perDay[day] = map[client.Category]float64{}
			}
			perDay[day][r.Category] += float64(r.Seconds)
			total[r.Category] += float64(r.Seconds)
			sum += float64(r.Seconds)
			calls += float64(r.Calls)
		}
		daily, shares := e.panel(t, "Talk time per day by grade"), e.panel(t, "Share per day vs target")
		if len(daily.rows) != len(perDay) || len(shares.rows) != len(perDay) {
			t.Errorf("%v: %d and %d days on the dashboard, %d in analytics", sel.values, len(daily.rows), len(shares.rows), len(perDay))
		}
		for i := range daily.rows {
			at := daily.time(t, i, "time")
			day := at.In(moscow).Format(time.DateOnly)
			if !at.Equal(time.Date(at.In(moscow).Year(), at.In(moscow).Month(), at.In(moscow).Day(), 0, 0, 0, 0, moscow)) {
				t.Errorf("%v: day %v is not a Moscow midnight", sel.values, at)
			}
			daySum := 0.0
			for _, s := range perDay[day] {
				daySum += s
			}
			for _, c := range client.Categories() {
				if got, want := daily.num(t, i, string(c)), perDay[day][c]; got != want {
					t.Errorf("%v %s %s: dashboard %v s, analytics %v s", sel.values, day, c, got, want)
				}
				if got, want := shares.num(t, i, string(c)), perDay[day][c]/daySum; got != want {
					t.Errorf("%v %s %s share: dashboard %v, analytics %v", sel.values, day, c, got, want)
				}
			}
		}
		share := e.panel(t, "Share over the range vs target")
		for _, c := range client.Categories() {
			if got, want := share.num(t, 0, string(c)), total[c]/sum; got != want {
				t.Errorf("%v %s share over the range: dashboard %v, analytics %v", sel.values, c, got, want)
			}
		}
		if share.num(t, 0, "total_seconds") != sum || share.num(t, 0, "calls") != calls {
			t.Errorf("%v: total %v s / %v calls, analytics %v / %v", sel.values, share.num(t, 0, "total_seconds"), share.num(t, 0, "calls"), sum, calls)
		}
	}

	// Calls of extension 101 on 20–21 Nov: c1 c2 c7 c8 answered, c5
	// missed, c11 busy, c12 cancelled.
	e.vars["manager"] = varValue{values: []string{"101"}, multi: true}
	e.r = dayRange(t, "2026-11-20", "2026-11-21", moscow)
	defer func() { e.r = dayRange(t, "2026-11-19", "2026-11-21", moscow) }()
	res := e.panel(t, "Calls by status")
	got := map[string]float64{}
	for _, c := range res.cols {
		got[c] = res.num(t, 0, c)
	}
	if want := map[string]float64{"answered": 4, "missed": 1, "busy": 1, "failed": 0, "cancelled": 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("calls of 101: %v, want %v", got, want)
	}
}

func testFunnel(t *testing.T, e *chEnv, store *analytics.Store, from, to string) {
	p := period(t, from, to)
	rows, err := store.Sources(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	want := analytics.BuildSourcesReport(p, rows).Sources
	if len(want) < 2 {
		t.Fatalf("%s..%s: analytics has %d sources; the fixture should give several", from, to, len(want))
	}
	res := e.panel(t, "Funnel per ad source")
	var got []analytics.SourceLine
	for i := range res.rows {
		got = append(got, analytics.SourceLine{
			Source:          res.str(t, i, "source"),
			Leads:           uint64(res.num(t, i, "leads")),
			Reached:         uint64(res.num(t, i, "reached")),
			Qualified:       uint64(res.num(t, i, "qualified")),
			Won:             uint64(res.num(t, i, "won")),
			UnreachableRate: res.num(t, i, "unreachable_rate"),
			Conversion:      res.num(t, i, "conversion"),
		})
		got[i].Revenue = amount(res.num(t, i, "revenue"))
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s %s..%s funnel:\n dashboard %+v\n analytics %+v", e.d.UID, from, to, got, want)
	}
}

// amount converts revenue in currency units (two decimals) to minor units.
func amount(v float64) deal.Amount { return deal.Amount(math.Round(v * 100)) }

func testRefusals(t *testing.T, e *chEnv, store *analytics.Store) {
	want, err := store.Refusals(context.Background(), period(t, "2026-11-01", "2026-11-30"))
	if err != nil {
		t.Fatal(err)
	}
	res := e.panel(t, "Refusal reasons per source and manager")
	var got []analytics.RefusalRow
	for i := range res.rows {
		got = append(got, analytics.RefusalRow{Reason: res.str(t, i, "reason"), Source: res.str(t, i, "source"),
			Manager: res.str(t, i, "manager"), Deals: uint64(res.num(t, i, "deals"))})
	}
	key := func(r analytics.RefusalRow) string {
		return fmt.Sprintf("%s|%s|%s|%d", r.Reason, r.Source, r.Manager, r.Deals)
	}
	sort.Slice(want, func(i, j int) bool { return key(want[i]) < key(want[j]) })
	gotSorted := slices.Clone(got)
	sort.Slice(gotSorted, func(i, j int) bool { return key(gotSorted[i]) < key(gotSorted[j]) })
	if !reflect.DeepEqual(gotSorted, want) || len(want) < 2 {
		t.Errorf("refusals:\n dashboard %+v\n analytics %+v", gotSorted, want)
	}
}
