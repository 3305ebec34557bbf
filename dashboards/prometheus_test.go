package dashboards_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/app"
	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/warehouse"
)

const (
	apiToken     = "dashboards-test-api-token"
	genericToken = "dashboards-test-generic-token"
	scrapeJob    = "callpulse"
)

// TestPrometheus evaluates every PromQL expression of the dashboards on a
// real Prometheus (Debian's) scraping a real callpulse every second, after
// the daemon has taken a few calls, and checks that the overview shows the
// API's talk time.
func TestPrometheus(t *testing.T) {
	t.Parallel()
	d := startDaemon(t)
	metrics := d.metricTypes(t)
	prom := startPrometheus(t, d.addr)
	// rate() needs two samples in its window, also at the first step of a
	// range query: wait for three successful scrapes (the first one comes
	// about 5 s after start, when service discovery first reports).
	eventually(t, 30*time.Second, "three scrapes of callpulse", func() (bool, string) {
		n, err := prom.scalar(fmt.Sprintf(`count_over_time(up{job=%q}[1m]) >= 3 and min_over_time(up{job=%[1]q}[1m]) == 1`, scrapeJob))
		return err == nil && n >= 3, fmt.Sprint(n, err)
	})

	vars := map[string]varValue{
		"job":      single(scrapeJob),
		"instance": {values: []string{d.addr}, all: true, multi: true, allVal: ".*"},
	}
	checked := 0
	for _, dash := range loadDashboards(t) {
		for _, v := range dash.Templating.List {
			if v.Type == "query" && v.Datasource != nil && v.Datasource.Type == prometheusType {
				checkLabelValues(t, prom, metrics, dash, v, vars)
				checked++
			}
		}
		for _, p := range dash.leafPanels() {
			for _, tg := range p.Targets {
				if tg.Datasource == nil || tg.Datasource.Type != prometheusType {
					continue
				}
				checked++
				where := fmt.Sprintf("%s %s", p.name(dash), tg.RefID)
				expr, err := interpolate(tg.Expr, vars, prometheusFormat)
				if err != nil {
					t.Errorf("%s: %v", where, err)
					continue
				}
				if m := regexp.MustCompile(`\$\{?\w+`).FindString(expr); m != "" {
					t.Errorf("%s: %s is not a variable of the dashboard", where, m)
					continue
				}
				checkMetricNames(t, where, expr, metrics)
				n, err := prom.count(expr, tg.Instant)
				if err != nil || n == 0 {
					t.Errorf("%s: %s\n  gave %d series, %v", where, expr, n, err)
				}
			}
		}
	}
	if checked < 30 {
		t.Errorf("only %d Prometheus queries checked", checked)
	}

	t.Run("overview talk time is the API's", func(t *testing.T) {
		expr := panelExpr(t, vars, "callpulse-overview", "Talk time today by manager", "A")
		want := d.talkTimeToday(t)
		if len(want) < 2 {
			t.Fatalf("the API reports %v for today; the daemon should have talk time", want)
		}
		t.Logf("talk time today from the API: %v", want)
		eventually(t, 20*time.Second, "the overview's talk time equal to the API's", func() (bool, string) {
			got, err := prom.cells(expr, "manager", "category")
			return err == nil && reflect.DeepEqual(got, want), fmt.Sprintf("Prometheus %v, API %v, %v", got, want, err)
		})
	})

	t.Run("queue and open missed calls are the API's", func(t *testing.T) {
		aboveExpr := panelExpr(t, vars, "callpulse-queue", "Leads above the threshold now", "A")
		thresholdExpr := panelExpr(t, vars, "callpulse-queue", "Score threshold now (callpulse)", "A")
		missedExpr := panelExpr(t, vars, "callpulse-queue", "Open missed calls per manager", "A")
		threshold, above := d.queueNow(t)
		missed := d.openMissedToday(t)
		if above == 0 || len(missed) == 0 {
			t.Fatalf("the API reports %d leads above the threshold and open missed calls %v; the daemon should have both", above, missed)
		}
		t.Logf("from the API: threshold %v, %d leads above it, open missed calls %v", threshold, above, missed)
		eventually(t, 20*time.Second, "the queue's gauges equal to the API's", func() (bool, string) {
			th, err1 := prom.scalar(thresholdExpr)
			n, err2 := prom.scalar(aboveExpr)
			got, err3 := prom.cells(missedExpr, "manager", "state")
			ok := th == threshold && n == float64(above) && reflect.DeepEqual(got, missed)
			return ok, fmt.Sprintf("Prometheus threshold %v, above %v, missed %v; %v %v %v", th, n, got, err1, err2, err3)
		})
	})
}

// checkLabelValues runs a label_values(selector, label) variable query the
// way the Prometheus data source does (the label values API).
func checkLabelValues(t *testing.T, prom *promServer, metrics map[string]string, d *dashboard, v variable, vars map[string]varValue) {
	t.Helper()
	where := d.UID + " variable " + v.Name
	q, err := interpolate(v.queryText(), vars, prometheusFormat)
	if err != nil {
		t.Errorf("%s: %v", where, err)
		return
	}
	m := regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`).FindStringSubmatch(q)
	if m == nil {
		t.Errorf("%s: %q is not label_values(selector, label)", where, q)
		return
	}
	checkMetricNames(t, where, m[1], metrics)
	values, err := prom.labelValues(m[2], m[1])
	if err != nil || len(values) == 0 {
		t.Errorf("%s: %s gave %v, %v", where, q, values, err)
	}
	if v.Name == "job" && !strings.Contains(strings.Join(values, ","), scrapeJob) {
		t.Errorf("%s: %v lacks %s", where, values, scrapeJob)
	}
}

// checkMetricNames: every callpulse metric an expression uses is exported
// by the daemon (a histogram's _bucket, _sum and _count included), and the
// only other metric is Prometheus' own up.
func checkMetricNames(t *testing.T, where, expr string, metrics map[string]string) {
	t.Helper()
	for _, name := range regexp.MustCompile(`\bcallpulse_\w+`).FindAllString(expr, -1) {
		if _, ok := metrics[name]; ok {
			continue
		}
		base := regexp.MustCompile(`_(bucket|sum|count)$`).ReplaceAllString(name, "")
		if metrics[base] != "histogram" {
			t.Errorf("%s: %s is not in the daemon's /metrics", where, name)
		}
	}
	for _, m := range regexp.MustCompile(`([a-zA-Z_:][\w:]*)\{`).FindAllStringSubmatch(expr, -1) {
		if !strings.HasPrefix(m[1], "callpulse_") && m[1] != "up" {
			t.Errorf("%s: selects %s, which callpulse does not export", where, m[1])
		}
	}
}

// panelExpr is the expression of target refID of a dashboard's panel, as
// Grafana sends it.
func panelExpr(t *testing.T, vars map[string]varValue, uid, title, refID string) string {
	t.Helper()
	for _, d := range loadDashboards(t) {
		if d.UID != uid {
			continue
		}
		for _, p := range d.leafPanels() {
			for _, tg := range p.Targets {
				if p.Title == title && tg.RefID == refID {
					expr, err := interpolate(tg.Expr, vars, prometheusFormat)
					if err != nil {
						t.Fatal(err)
					}
					return expr
				}
			}
		}
	}
	t.Fatalf("%s: no panel %q with a target %s", uid, title, refID)
	return ""
}

// daemon is callpulse started in-process.
type daemon struct {
	app  *app.App
	addr string
}

// daemonConfig: the time zone is chosen so that it is about noon there
// now, and calls of the last minutes are today's whatever the time of day.
// The gauges refresh every second, as often as Prometheus scrapes: the
// scoring gauges give a refresh the interval as its timeout, which a
// shorter interval would make ClickHouse miss.
const daemonConfig = `
timezone: %s
managers:
  - {id: alice, name: "Alice", extensions: ["101"]}
  - {id: boris, name: "Boris", extensions: ["102", "112"]}
lines:
  - {phone: "+74951110001", source: yandex_direct}
clickhouse:
  batch_rows: 100
  batch_age: 50ms
metrics:
  refresh_interval: 1s
`

// noonZone is a fixed-offset zone (Etc/GMT±N) where it is between 12:00
// and 13:00 at now.
func noonZone(now time.Time) string {
	h := 12 - now.UTC().Hour() // -11..12, within the Etc/GMT zones' -12..14
	switch {
	case h > 0:
		return fmt.Sprintf("Etc/GMT-%d", h) // POSIX sign: Etc/GMT-3 is UTC+3
	case h < 0:
		return fmt.Sprintf("Etc/GMT+%d", -h)
	}
	return "Etc/GMT"
}

// startDaemon starts callpulse with a grade for one client and three of
// today's calls: alice 60 s with an A client, boris 30 s with an ungraded
// one, and a missed call of boris's client; and touches that put the A
// client above the default score threshold (60 points against 30).
func startDaemon(t *testing.T) *daemon {
	t.Helper()
	dsn := chtest.NewDatabase(t)
	now := time.Now()
	db, err := warehouse.Open(dsn, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	graded := []client.Client{{Phone: "+79160000001", Category: client.CategoryA}}
	if err := db.UpsertClients(ctx, graded, "csv", now.Add(-time.Hour)); err != nil {
		t.Fatal(err)
	}

	env := map[string]string{
		config.EnvListen:        "127.0.0.1:0",
		config.EnvClickHouseDSN: dsn,
		config.EnvDataDir:       t.TempDir(),
		config.EnvAPIToken:      apiToken,
		config.EnvGenericToken:  genericToken,
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(daemonConfig, noonZone(now))), "dashboards-test.yml",
		func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(testLog{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.Start(ctx, cfg, log)
	if err != nil {
		t.Fatalf("start callpulse: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Shutdown(); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	d := &daemon{app: a, addr: a.Addr()}

	ts := func(ago time.Duration) string { return now.Add(-ago).UTC().Truncate(time.Second).Format(time.RFC3339) }
	calls := []map[string]any{
		{"call_id": "today-1", "direction": "inbound", "client_phone": "+79160000001", "line_phone": "+74951110001",
			"manager": "101", "status": "answered", "started_at": ts(3 * time.Minute), "answered_at": ts(170 * time.Second), "ended_at": ts(110 * time.Second)},
		{"call_id": "today-2", "direction": "inbound", "client_phone": "+79160000009", "manager": "102",
			"status": "answered", "started_at": ts(2 * time.Minute), "answered_at": ts(100 * time.Second), "ended_at": ts(70 * time.Second)},
		{"call_id": "today-3", "direction": "inbound", "client_phone": "+79160000009", "status": "missed",
			"started_at": ts(time.Minute), "ended_at": ts(50 * time.Second)},
	}
	body, _ := json.Marshal(calls)
	if code, resp := d.do(t, http.MethodPost, "/webhooks/generic", genericToken, body); code != http.StatusOK {
		t.Fatalf("post calls: %d %s", code, resp)
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := a.WaitWritten(wctx); err != nil {
		t.Fatal(err)
	}

	var touches []map[string]any
	for _, action := range []string{"pricing_page", "application", "consultation"} {
		touches = append(touches, map[string]any{"phone": "+79160000001", "action": action, "at": ts(5 * time.Minute)})
	}
	body, _ = json.Marshal(touches)
	if code, resp := d.do(t, http.MethodPost, "/api/v1/touches", apiToken, body); code != http.StatusOK {
		t.Fatalf("post touches: %d %s", code, resp)
	}
	return d
}

func (d *daemon) do(t *testing.T, method, path, token string, body []byte) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, "http://"+d.addr+path, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// metricTypes reads the daemon's /metrics: metric name → type.
func (d *daemon) metricTypes(t *testing.T) map[string]string {
	t.Helper()
	code, body := d.do(t, http.MethodGet, "/metrics", "", nil)
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	types := map[string]string{}
	for _, line := range strings.Split(string(body), "\n") {
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
	}
	return types
}

// talkTimeToday is GET /api/v1/talk-time for today as
// "manager/category" → seconds, for every manager id and category.
func (d *daemon) talkTimeToday(t *testing.T) map[string]float64 {
	t.Helper()
	code, body := d.do(t, http.MethodGet, "/api/v1/talk-time", apiToken, nil)
	if code != http.StatusOK {
		t.Fatalf("talk-time: %d %s", code, body)
	}
	var rep struct {
		Managers []struct {
			Manager string             `json:"manager"`
			Seconds map[string]float64 `json:"seconds"`
		} `json:"managers"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	cells := map[string]float64{}
	for _, m := range rep.Managers {
		for cat, s := range m.Seconds {
			if s > 0 {
				cells[m.Manager+"/"+cat] = s
			}
		}
	}
	return cells
}

// queueNow is GET /api/v1/queue: the threshold and the number of leads
// at or above it.
func (d *daemon) queueNow(t *testing.T) (threshold float64, above int) {
	t.Helper()
	code, body := d.do(t, http.MethodGet, "/api/v1/queue", apiToken, nil)
	if code != http.StatusOK {
		t.Fatalf("queue: %d %s", code, body)
	}
	var rep struct {
		Threshold float64           `json:"threshold"`
		Leads     []json.RawMessage `json:"leads"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	return rep.Threshold, len(rep.Leads)
}

// openMissedToday is GET /api/v1/missed?open=true as the cells of the
// dashboard's open missed calls per manager: "manager/open" and
// "manager/past SLA" → calls, leaving out zeros. The gauges label owners
// that are no configured manager "other", and calls nobody owns
// "unassigned". The daemon's calls are all minutes old, within the
// 15-minute SLA.
func (d *daemon) openMissedToday(t *testing.T) map[string]float64 {
	t.Helper()
	code, body := d.do(t, http.MethodGet, "/api/v1/missed?open=true", apiToken, nil)
	if code != http.StatusOK {
		t.Fatalf("missed: %d %s", code, body)
	}
	var rep struct {
		Missed []struct {
			Owner     string    `json:"owner"`
			OwnerName string    `json:"owner_name"`
			At        time.Time `json:"at"`
		} `json:"missed"`
		SLASeconds int64 `json:"sla_seconds"`
	}
	if err := json.Unmarshal(body, &rep); err != nil {
		t.Fatal(err)
	}
	cells := map[string]float64{}
	for _, m := range rep.Missed {
		owner := m.Owner
		switch {
		case owner == "":
			owner = "unassigned"
		case m.OwnerName == "":
			owner = "other"
		}
		cells[owner+"/open"]++
		if time.Since(m.At) > time.Duration(rep.SLASeconds)*time.Second {
			t.Fatalf("missed call of %v is past the SLA: the test expects none", m.At)
		}
	}
	return cells
}

type testLog struct{ t *testing.T }

func (w testLog) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// promServer is a private Prometheus process.
type promServer struct{ base string }

// startPrometheus runs Debian's prometheus scraping target every second,
// with its data in a temp dir, until the test ends.
func startPrometheus(t *testing.T, target string) *promServer {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		chtest.Unavailable(t, "prometheus is not installed (Debian package prometheus)")
	}
	dir := t.TempDir()
	addr := freeAddr(t)
	cfg := fmt.Sprintf(`global: {scrape_interval: 1s, scrape_timeout: 1s, evaluation_interval: 1s}
scrape_configs:
  - job_name: %s
    static_configs: [{targets: [%q]}]
`, scrapeJob, target)
	if err := os.WriteFile(filepath.Join(dir, "prometheus.yml"), []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"), "--storage.tsdb.retention.time=1h",
		"--web.listen-address="+addr)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start prometheus: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logFile.Close()
		if t.Failed() {
			out, _ := os.ReadFile(logFile.Name())
			t.Logf("prometheus log:\n%s", out)
		}
	})
	p := &promServer{base: "http://" + addr}
	eventually(t, 30*time.Second, "prometheus ready", func() (bool, string) {
		resp, err := http.Get(p.base + "/-/ready")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// sample is one series of an instant (value) or range (values) result.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
	Values [][2]any          `json:"values"`
}

// api calls the HTTP API and returns data; an error for anything but
// status success (parse and evaluation errors included).
func (p *promServer) api(path string, params url.Values, data any) error {
	resp, err := http.Get(p.base + path + "?" + params.Encode())
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var r struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return fmt.Errorf("%s: %s: %w", path, resp.Status, err)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s: %s", path, r.Status, r.Error)
	}
	return json.Unmarshal(r.Data, data)
}

// query evaluates expr at now (instant) or over the last two seconds in
// 1 s steps (range), as Grafana would for the target.
func (p *promServer) query(expr string, instant bool) ([]sample, error) {
	var data struct {
		ResultType string   `json:"resultType"`
		Result     []sample `json:"result"`
	}
	now := time.Now()
	params := url.Values{"query": {expr}, "time": {unixTime(now)}}
	path := "/api/v1/query"
	if !instant {
		path = "/api/v1/query_range"
		params = url.Values{"query": {expr}, "start": {unixTime(now.Add(-2 * time.Second))}, "end": {unixTime(now)}, "step": {"1"}}
	}
	if err := p.api(path, params, &data); err != nil {
		return nil, err
	}
	return data.Result, nil
}

// unixTime is t as the API takes it: Unix seconds with milliseconds.
func unixTime(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', 3, 64)
}

// count is the number of series expr gives.
func (p *promServer) count(expr string, instant bool) (int, error) {
	r, err := p.query(expr, instant)
	return len(r), err
}

// scalar is the value of a single-series instant query (0 if empty).
func (p *promServer) scalar(expr string) (float64, error) {
	r, err := p.query(expr, true)
	if err != nil || len(r) == 0 {
		return 0, err
	}
	var v float64
	_, err = fmt.Sscan(fmt.Sprint(r[0].Value[1]), &v)
	return v, err
}

// cells evaluates expr at now as "labelA/labelB" → value, leaving out
// zeros.
func (p *promServer) cells(expr, labelA, labelB string) (map[string]float64, error) {
	r, err := p.query(expr, true)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, s := range r {
		var v float64
		if _, err := fmt.Sscan(fmt.Sprint(s.Value[1]), &v); err != nil {
			return nil, err
		}
		if v != 0 {
			out[s.Metric[labelA]+"/"+s.Metric[labelB]] = v
		}
	}
	return out, nil
}

func (p *promServer) labelValues(label, selector string) ([]string, error) {
	var values []string
	err := p.api("/api/v1/label/"+label+"/values", url.Values{"match[]": {selector}}, &values)
	return values, err
}

// eventually polls cond every 100 ms until it holds, failing the test after
// within. It waits only for servers that start or scrape on their own
// schedule; the timeout bounds the wait and never decides an assertion.
func eventually(t *testing.T, within time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		ok, state := cond()
		if ok {
			return
		}
		select {
		case <-deadline.C:
			t.Fatalf("waited %v for %s; last: %s", within, what, state)
		case <-tick.C:
		}
	}
}

func TestNoonZone(t *testing.T) {
	for h := range 24 {
		now := time.Date(2026, 11, 20, h, 59, 0, 0, time.UTC)
		loc, err := time.LoadLocation(noonZone(now))
		if err != nil || now.In(loc).Hour() != 12 {
			t.Errorf("%v: zone %s (%v) gives %v", now, noonZone(now), err, now.In(loc))
		}
	}
}
