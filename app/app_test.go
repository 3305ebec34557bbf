package app

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/importer"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/warehouse"
)

const (
	apiToken     = "test-api-token"
	genericToken = "test-generic-token"
)

const testConfig = `
timezone: Europe/Moscow
managers:
  - {id: alice, name: "Алиса", extensions: ["101"]}
  - {id: boris, name: "Борис", extensions: ["102", "112"]}
lines:
  - {phone: "+74951112233", source: yandex_direct}
webhooks:
  max_body_bytes: 4096
clickhouse:
  batch_rows: 100
  batch_age: 50ms
metrics:
  refresh_interval: 100ms
`

// daemon is a callpulse started in-process on a free loopback port.
type daemon struct {
	t    *testing.T
	app  *App
	base string
	cfg  *config.Config
}

func newConfig(t *testing.T, dsn, dataDir string) *config.Config {
	t.Helper()
	env := map[string]string{
		config.EnvListen:        "127.0.0.1:0",
		config.EnvClickHouseDSN: dsn,
		config.EnvDataDir:       dataDir,
		config.EnvAPIToken:      apiToken,
		config.EnvGenericToken:  genericToken,
	}
	cfg, err := config.Parse([]byte(testConfig), "test.yml", func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func startDaemon(t *testing.T, cfg *config.Config) *daemon {
	t.Helper()
	a, err := Start(context.Background(), cfg, testLogger(t))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	d := &daemon{t: t, app: a, base: "http://" + a.Addr(), cfg: cfg}
	t.Cleanup(func() { d.stop() })
	return d
}

func (d *daemon) stop() {
	if d.app == nil {
		return
	}
	if err := d.app.Shutdown(); err != nil {
		d.t.Errorf("Shutdown: %v", err)
	}
	d.app = nil
}

func (d *daemon) post(body string, token string) (int, string) {
	d.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, d.base+"/webhooks/generic", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("POST: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (d *daemon) get(path, token string) (int, []byte) {
	d.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, d.base+path, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		d.t.Fatalf("GET %s: %v", path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type talkReport struct {
	Managers []struct {
		Manager      string             `json:"manager"`
		Seconds      map[string]uint64  `json:"seconds"`
		TotalSeconds uint64             `json:"total_seconds"`
		Share        map[string]float64 `json:"share"`
		Calls        uint64             `json:"calls"`
	} `json:"managers"`
	Target map[string]float64 `json:"target"`
}

// talkTime returns "manager:category=seconds" for every non-zero cell.
func (d *daemon) talkTime(from, to string) (map[string]uint64, talkReport) {
	d.t.Helper()
	code, body := d.get("/api/v1/talk-time?from="+from+"&to="+to, apiToken)
	if code != http.StatusOK {
		d.t.Fatalf("talk-time: %d %s", code, body)
	}
	var rep talkReport
	if err := json.Unmarshal(body, &rep); err != nil {
		d.t.Fatalf("decode talk-time: %v", err)
	}
	cells := map[string]uint64{}
	for _, m := range rep.Managers {
		for cat, s := range m.Seconds {
			if s > 0 {
				cells[m.Manager+":"+cat] = s
			}
		}
	}
	return cells, rep
}

// waitDrained waits until the ClickHouse writer has written everything on
// the spool (its cursor caught up with the last durable record).
func (d *daemon) waitDrained() {
	d.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := d.app.WaitWritten(ctx); err != nil {
		d.t.Fatalf("writer did not catch up: %v", err)
	}
}

func importClients(t *testing.T, dsn, file string, at time.Time) {
	t.Helper()
	norm, _ := phone.NewNormalizer("RU")
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	clients, err := importer.ReadClients(f, norm)
	if err != nil {
		t.Fatal(err)
	}
	db, err := warehouse.Open(dsn, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := db.UpsertClients(context.Background(), clients, "csv", at); err != nil {
		t.Fatal(err)
	}
}

// snapshot builds a generic webhook body. answered/ended may be "".
func snapshot(id, dir, client, manager, status, started, answered, ended string) string {
	m := map[string]any{"call_id": id, "direction": dir, "client_phone": client, "manager": manager,
		"status": status, "started_at": started, "line_phone": "+74951112233"}
	if answered != "" {
		m["answered_at"] = answered
	}
	if ended != "" {
		m["ended_at"] = ended
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// testLogger logs to the test's output.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func promtoolCheck(t *testing.T, metrics []byte) {
	t.Helper()
	if _, err := exec.LookPath("promtool"); err != nil {
		chtest.Unavailable(t, "promtool is not installed (Debian package prometheus)")
	}
	cmd := exec.Command("promtool", "check", "metrics")
	cmd.Stdin = bytes.NewReader(metrics)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}
