// Package dashboards_test checks callpulse's Grafana dashboards (json/):
// their structure here, the JSON Schema from @grafana/schema in
// schema_test.go, every ClickHouse query against a real ClickHouse in
// clickhouse_test.go, every PromQL expression against a real Prometheus
// scraping a real daemon in prometheus_test.go, and the provisioning files
// in provisioning_test.go. There is no Grafana server to test against, so
// grafana_test.go models the part of Grafana and of the ClickHouse plugin
// that turns a panel query into the text a server runs.
package dashboards_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Data source types and the dashboard variables that select them.
const (
	clickhouseType = "grafana-clickhouse-datasource"
	prometheusType = "prometheus"
	dashboardType  = "datasource" // "-- Dashboard --": another panel's results
	clickhouseVar  = "${DS_CLICKHOUSE}"
	prometheusVar  = "${DS_PROMETHEUS}"
	dashboardUID   = "-- Dashboard --"
)

// dashboard is the part of a dashboard JSON file the tests read.
type dashboard struct {
	file string

	UID           string   `json:"uid"`
	Title         string   `json:"title"`
	Description   string   `json:"description"`
	Tags          []string `json:"tags"`
	Timezone      string   `json:"timezone"`
	SchemaVersion int      `json:"schemaVersion"`
	Time          struct {
		From string `json:"from"`
		To   string `json:"to"`
	} `json:"time"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
	Panels []panel `json:"panels"`
}

type dsRef struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type variable struct {
	Name       string          `json:"name"`
	Type       string          `json:"type"`
	Query      json.RawMessage `json:"query"`
	Datasource *dsRef          `json:"datasource"`
	Multi      bool            `json:"multi"`
	IncludeAll bool            `json:"includeAll"`
	AllValue   string          `json:"allValue"`
	Current    struct {
		Value json.RawMessage `json:"value"`
	} `json:"current"`
}

// queryText is the variable's query: a plain string in these dashboards.
func (v variable) queryText() string {
	var s string
	_ = json.Unmarshal(v.Query, &s)
	return s
}

type panel struct {
	ID              int              `json:"id"`
	Type            string           `json:"type"`
	Title           string           `json:"title"`
	Description     string           `json:"description"`
	Datasource      *dsRef           `json:"datasource"`
	Targets         []target         `json:"targets"`
	GridPos         gridPos          `json:"gridPos"`
	FieldConfig     fieldConfig      `json:"fieldConfig"`
	Options         json.RawMessage  `json:"options"`
	Transformations []transformation `json:"transformations"`
	Panels          []panel          `json:"panels"` // of a row
}

type gridPos struct{ H, W, X, Y int }

type target struct {
	RefID      string          `json:"refId"`
	Datasource *dsRef          `json:"datasource"`
	Format     json.RawMessage `json:"format"` // a number for ClickHouse, a string for Prometheus
	// ClickHouse plugin.
	EditorType string `json:"editorType"`
	QueryType  string `json:"queryType"`
	RawSQL     string `json:"rawSql"`
	// Prometheus.
	Expr    string `json:"expr"`
	Instant bool   `json:"instant"`
	Range   bool   `json:"range"`
	// "-- Dashboard --".
	PanelID int `json:"panelId"`
}

type fieldConfig struct {
	Defaults struct {
		Unit string `json:"unit"`
	} `json:"defaults"`
	Overrides []struct {
		Matcher struct {
			ID      string `json:"id"`
			Options any    `json:"options"`
		} `json:"matcher"`
		Properties []struct {
			ID    string          `json:"id"`
			Value json.RawMessage `json:"value"`
		} `json:"properties"`
	} `json:"overrides"`
}

type transformation struct {
	ID      string          `json:"id"`
	Options json.RawMessage `json:"options"`
}

// name identifies a panel in messages and expectation tables.
func (p panel) name(d *dashboard) string { return d.UID + "/" + p.Title }

// leafPanels returns the dashboard's panels other than rows, rows' panels
// included.
func (d *dashboard) leafPanels() []panel {
	var out []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			if p.Type == "row" {
				walk(p.Panels)
				continue
			}
			out = append(out, p)
		}
	}
	walk(d.Panels)
	return out
}

func (d *dashboard) panelByID(id int) (panel, bool) {
	for _, p := range d.leafPanels() {
		if p.ID == id {
			return p, true
		}
	}
	return panel{}, false
}

func (d *dashboard) variable(name string) (variable, bool) {
	for _, v := range d.Templating.List {
		if v.Name == name {
			return v, true
		}
	}
	return variable{}, false
}

// loadDashboards reads every json/*.json file.
func loadDashboards(t *testing.T) []*dashboard {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("json", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards in json/: %v", err)
	}
	var out []*dashboard
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		d := &dashboard{file: f}
		if err := json.Unmarshal(b, d); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		out = append(out, d)
	}
	return out
}

// wantDashboards are the dashboards and what they must be.
var wantDashboards = map[string]struct {
	title, from, to string
}{
	"callpulse-overview":   {"Sales director overview", "now/d", "now/d"},
	"callpulse-manager":    {"Manager drill-down", "now-6d/d", "now/d"},
	"callpulse-sources":    {"Ad sources and funnel", "now/M", "now/M"},
	"callpulse-operations": {"Operations", "now-6h", "now"},
	"callpulse-queue":      {"Lead queue and follow-up", "now-6d/d", "now"},
}

func TestDashboardsAreTheExpectedOnes(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range loadDashboards(t) {
		want, ok := wantDashboards[d.UID]
		if !ok {
			t.Errorf("%s: unexpected uid %q", d.file, d.UID)
			continue
		}
		seen[d.UID] = true
		if base := strings.TrimSuffix(filepath.Base(d.file), ".json"); base != d.UID {
			t.Errorf("%s: file name should be the uid %q", d.file, d.UID)
		}
		if d.Title != want.title || d.Time.From != want.from || d.Time.To != want.to {
			t.Errorf("%s: title %q, time %s..%s; want %q, %s..%s", d.UID, d.Title, d.Time.From, d.Time.To, want.title, want.from, want.to)
		}
		if !slices.Contains(d.Tags, "callpulse") {
			t.Errorf("%s: tags %v lack callpulse", d.UID, d.Tags)
		}
		if d.Description == "" {
			t.Errorf("%s: no description", d.UID)
		}
	}
	for uid := range wantDashboards {
		if !seen[uid] {
			t.Errorf("dashboard %s is missing", uid)
		}
	}
}

// TestDataSourcesAreVariables: panels never name a data source instance,
// only the type-filtered DS_* variables (or another panel's results), so
// the JSON works in any Grafana.
func TestDataSourcesAreVariables(t *testing.T) {
	for _, d := range loadDashboards(t) {
		dsVars := map[string]string{} // "${NAME}" -> plugin type
		for _, v := range d.Templating.List {
			if v.Type == "datasource" {
				dsVars["${"+v.Name+"}"] = v.queryText()
			}
		}
		check := func(where string, ref *dsRef) {
			if ref == nil {
				t.Errorf("%s: no datasource", where)
				return
			}
			if ref.UID == dashboardUID && ref.Type == dashboardType {
				return
			}
			typ, ok := dsVars[ref.UID]
			if !ok || typ != ref.Type || (ref.UID != clickhouseVar && ref.UID != prometheusVar) {
				t.Errorf("%s: datasource %+v; want {%s %s} or {%s %s} backed by a datasource variable",
					where, *ref, clickhouseType, clickhouseVar, prometheusType, prometheusVar)
			}
		}
		for _, v := range d.Templating.List {
			if v.Type == "query" {
				check(d.UID+" variable "+v.Name, v.Datasource)
			}
		}
		for _, p := range d.leafPanels() {
			check(p.name(d), p.Datasource)
			for _, tg := range p.Targets {
				check(fmt.Sprintf("%s target %s", p.name(d), tg.RefID), tg.Datasource)
				if tg.Datasource != nil && p.Datasource != nil && *tg.Datasource != *p.Datasource {
					t.Errorf("%s target %s: datasource differs from the panel's", p.name(d), tg.RefID)
				}
			}
		}
	}
}

// TestPanels checks what Grafana does not: every panel explains itself,
// has a unit, unique id, a place on the grid, and well-formed queries.
func TestPanels(t *testing.T) {
	for _, d := range loadDashboards(t) {
		ids := map[int]bool{}
		var cells []gridPos
		var walk func([]panel)
		walk = func(ps []panel) {
			for _, p := range ps {
				if ids[p.ID] {
					t.Errorf("%s: duplicate panel id %d", p.name(d), p.ID)
				}
				ids[p.ID] = true
				g := p.GridPos
				if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
					t.Errorf("%s: gridPos %+v outside the 24-column grid", p.name(d), g)
				}
				for _, o := range cells {
					if g.X < o.X+o.W && o.X < g.X+g.W && g.Y < o.Y+o.H && o.Y < g.Y+g.H {
						t.Errorf("%s: gridPos %+v overlaps %+v", p.name(d), g, o)
					}
				}
				cells = append(cells, g)
				if p.Type == "row" {
					walk(p.Panels)
					continue
				}
				if p.Description == "" {
					t.Errorf("%s: no description", p.name(d))
				}
				if p.FieldConfig.Defaults.Unit == "" {
					t.Errorf("%s: no unit", p.name(d))
				}
				if len(p.Targets) == 0 {
					t.Errorf("%s: no queries", p.name(d))
				}
				checkTargets(t, d, p)
			}
		}
		walk(d.Panels)
	}
}

func checkTargets(t *testing.T, d *dashboard, p panel) {
	t.Helper()
	refs := map[string]bool{}
	for _, tg := range p.Targets {
		if tg.RefID == "" || refs[tg.RefID] {
			t.Errorf("%s: empty or duplicate refId %q", p.name(d), tg.RefID)
		}
		refs[tg.RefID] = true
		if tg.Datasource == nil {
			continue
		}
		switch tg.Datasource.Type {
		case clickhouseType:
			// The plugin's SQL editor: format 1 = table, 0 = time series
			// (sqlutil.FormatQueryOption), and the matching queryType.
			wantFormat := map[string]string{"table": "1", "timeseries": "0"}[tg.QueryType]
			if tg.EditorType != "sql" || tg.RawSQL == "" || wantFormat == "" || string(tg.Format) != wantFormat {
				t.Errorf("%s %s: want editorType sql, rawSql, queryType table (format 1) or timeseries (format 0); got %q %q format %s",
					p.name(d), tg.RefID, tg.EditorType, tg.QueryType, tg.Format)
			}
			if (tg.QueryType == "timeseries") != (p.Type == "timeseries") {
				t.Errorf("%s %s: queryType %s in a %s panel", p.name(d), tg.RefID, tg.QueryType, p.Type)
			}
		case prometheusType:
			if tg.Expr == "" || tg.Instant == tg.Range {
				t.Errorf("%s %s: want an expr and exactly one of instant and range", p.name(d), tg.RefID)
			}
		case dashboardType:
			src, ok := d.panelByID(tg.PanelID)
			if !ok || src.Datasource == nil || src.Datasource.Type == dashboardType {
				t.Errorf("%s %s: panelId %d is not a panel with its own queries", p.name(d), tg.RefID, tg.PanelID)
			}
		}
	}
}

// TestTimeZones: the sales dashboards count days in one time zone, the
// dashboard's (which decides what "today" and "this month" are) and the
// tz variable's (which the SQL groups days by) alike.
func TestTimeZones(t *testing.T) {
	zones := map[string]bool{}
	for _, d := range loadDashboards(t) {
		if d.UID == "callpulse-operations" {
			continue
		}
		zones[d.Timezone] = true
		if v, ok := d.variable("tz"); ok {
			var tz string
			_ = json.Unmarshal(v.Query, &tz)
			if v.Type != "constant" || tz != d.Timezone {
				t.Errorf("%s: tz variable %s %q, dashboard time zone %q; want a constant equal to it", d.UID, v.Type, tz, d.Timezone)
			}
		}
	}
	if len(zones) != 1 || zones["Europe/Moscow"] != true {
		t.Errorf("sales dashboards' time zones %v; want all Europe/Moscow", zones)
	}
}
