package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// binary is the callpulse binary built once for these tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "callpulse-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "callpulse")
	if out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build callpulse: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func run(t *testing.T, env []string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return string(out), exit.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return string(out), 0
}

func TestCheckConfigReportsFileAndLine(t *testing.T) {
	out, code := run(t, nil, "check-config", "--config", "testdata/bad.yml")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{
		`testdata/bad.yml:2: timezone`,
		`testdata/bad.yml:5: managers[1].id: duplicate`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckConfigNeedsTokensToServe(t *testing.T) {
	out, code := run(t, []string{"CALLPULSE_API_TOKEN=", "CALLPULSE_GENERIC_TOKEN="}, "check-config", "--config", "../../deploy/dev/callpulse.yml")
	if code != 1 || !strings.Contains(out, "CALLPULSE_API_TOKEN") {
		t.Errorf("without tokens: exit %d, output %q; want 1 naming CALLPULSE_API_TOKEN", code, out)
	}
	out, code = run(t, []string{"CALLPULSE_API_TOKEN=a", "CALLPULSE_GENERIC_TOKEN=b"}, "check-config", "--config", "../../deploy/dev/callpulse.yml")
	if code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("dev config: exit %d, output %q", code, out)
	}
}

func TestImportRejectsBadFileWithLineNumbers(t *testing.T) {
	// The file is checked before ClickHouse is contacted, so no server is needed.
	out, code := run(t, []string{"CALLPULSE_CLICKHOUSE_DSN=clickhouse://127.0.0.1:1/none"}, "import", "clients", "testdata/bad-clients.csv")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{"2 bad row(s), nothing imported", "line 3: phone", "line 4: category"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestUnknownCommand(t *testing.T) {
	if out, code := run(t, nil, "frobnicate"); code != 2 || !strings.Contains(out, "unknown command") {
		t.Errorf("exit %d, output %q", code, out)
	}
}

// TestServeStopsGracefullyOnSIGTERM runs the real binary with ClickHouse
// unreachable: it still accepts webhooks (they go to the spool), and SIGTERM
// makes it exit 0 after a clean shutdown.
func TestServeStopsGracefullyOnSIGTERM(t *testing.T) {
	cmd := exec.Command(binary, "serve")
	cmd.Env = append(os.Environ(),
		"CALLPULSE_LISTEN=127.0.0.1:0",
		"CALLPULSE_DATA_DIR="+t.TempDir(),
		"CALLPULSE_CLICKHOUSE_DSN=clickhouse://127.0.0.1:1/callpulse",
		"CALLPULSE_API_TOKEN=api", "CALLPULSE_GENERIC_TOKEN=gen",
	)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	lines := bufio.NewScanner(stderr)
	addr := ""
	for addr == "" && lines.Scan() {
		if _, rest, ok := strings.Cut(lines.Text(), "addr="); ok {
			addr, _, _ = strings.Cut(rest, " ")
		}
	}
	if addr == "" {
		t.Fatal("serve never logged its address")
	}
	body := `{"call_id":"x1","direction":"inbound","started_at":"2026-11-20T09:15:00+03:00","client_phone":"+79161234567","status":"missed"}`
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/webhooks/generic", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer gen")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("webhook with ClickHouse down: %d, want 200", resp.StatusCode)
	}

	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(stderr)
	if err := cmd.Wait(); err != nil {
		t.Errorf("serve after SIGTERM: %v\n%s", err, rest)
	}
	if !strings.Contains(string(rest), "msg=stopped") {
		t.Errorf("no clean shutdown in the log:\n%s", rest)
	}
}

func TestImportDealsRejectsBadFileWithLineNumbers(t *testing.T) {
	out, code := run(t, []string{"CALLPULSE_CLICKHOUSE_DSN=clickhouse://127.0.0.1:1/none"}, "import", "deals", "testdata/bad-deals.csv")
	if code != 1 {
		t.Errorf("exit code %d, want 1", code)
	}
	for _, want := range []string{"2 bad row(s), nothing imported", "line 2: closed_at", "line 3: amount"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
