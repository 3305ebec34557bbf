package report

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/internal/freeport"
)

// maildevVersion is the npm package the SMTP tests receive mail with; its
// HTTP API (under /api) lets a test read what arrived.
const maildevVersion = "3.0.0"

// maildevDir is where maildev is installed once, outside the repository:
// $CALLPULSE_MAILDEV_DIR, else <user cache dir>/callpulse/maildev-<version>.
// scripts/test.sh installs it there ahead of the tests.
func maildevDir(t *testing.T) string {
	if d := os.Getenv("CALLPULSE_MAILDEV_DIR"); d != "" {
		return d
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(cache, "callpulse", "maildev-"+maildevVersion)
}

var installMaildev sync.Mutex

// maildevBin returns the maildev executable, installing it with npm into
// maildevDir on first use. Without node and npm the test is skipped, or
// fails when CI=true.
func maildevBin(t *testing.T) string {
	t.Helper()
	installMaildev.Lock()
	defer installMaildev.Unlock()
	dir := maildevDir(t)
	bin := filepath.Join(dir, "node_modules", ".bin", "maildev")
	if _, err := os.Stat(bin); err == nil {
		return bin
	}
	for _, tool := range []string{"node", "npm"} {
		if _, err := exec.LookPath(tool); err != nil {
			chtest.Unavailable(t, "%s is not installed (maildev %s needs it)", tool, maildevVersion)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("npm", "install", "--no-audit", "--no-fund", "--prefix", dir, "maildev@"+maildevVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		chtest.Unavailable(t, "npm install maildev@%s: %v\n%s", maildevVersion, err, out)
	}
	return bin
}

// maildev is a running maildev server.
type maildev struct {
	smtpPort int
	web      string // http://127.0.0.1:port
}

// startMaildev runs a private maildev for the test, stopped at its end.
func startMaildev(t *testing.T) *maildev {
	t.Helper()
	bin := maildevBin(t)
	m := &maildev{smtpPort: freeport.For(t)}
	webPort := freeport.For(t)
	m.web = fmt.Sprintf("http://127.0.0.1:%d", webPort)
	dir := t.TempDir()
	log, err := os.Create(filepath.Join(dir, "maildev.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--smtp", fmt.Sprint(m.smtpPort), "--web", fmt.Sprint(webPort),
		"--ip", "127.0.0.1", "--web-ip", "127.0.0.1", "--mail-directory", filepath.Join(dir, "mail"))
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatalf("start maildev: %v", err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); log.Close(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	// Polling a starting server is the one wait a test cannot avoid; it is
	// bounded and asserts nothing about timing.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(m.web + "/api/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return m
			}
		}
		if time.Now().After(deadline) {
			out, _ := os.ReadFile(filepath.Join(dir, "maildev.log"))
			t.Fatalf("maildev did not come up: %v\n%s", err, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// receivedMail is a message as maildev's API describes it.
type receivedMail struct {
	ID      string `json:"id"`
	Subject string `json:"subject"`
	HTML    string `json:"html"`
	Text    string `json:"text"`
	From    []struct {
		Address string `json:"address"`
	} `json:"from"`
	To []struct {
		Address string `json:"address"`
	} `json:"to"`
	Headers     map[string]any `json:"headers"`
	Attachments []struct {
		ContentType       string `json:"contentType"`
		FileName          string `json:"fileName"`
		GeneratedFileName string `json:"generatedFileName"`
		ContentID         string `json:"contentId"`
		Related           bool   `json:"related"`
		Length            int    `json:"length"`
	} `json:"attachments"`
}

// emails lists what maildev received.
func (m *maildev) emails(t *testing.T) []receivedMail {
	t.Helper()
	var out []receivedMail
	m.getJSON(t, "/api/email", &out)
	return out
}

func (m *maildev) getJSON(t *testing.T, path string, v any) {
	t.Helper()
	if err := json.Unmarshal(m.get(t, path), v); err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
}

func (m *maildev) get(t *testing.T, path string) []byte {
	t.Helper()
	resp, err := http.Get(m.web + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v\n%s", path, resp.StatusCode, err, b)
	}
	return b
}

// chromium returns the path of headless Chromium (Debian package
// chromium); without it the test is skipped, or fails when CI=true.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	chtest.Unavailable(t, "chromium is not installed (apt-get install chromium fonts-dejavu-core)")
	return ""
}

// runChromium runs headless Chromium with args and returns its stdout.
func runChromium(t *testing.T, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	base := []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(ctx, chromium(t), append(base, args...)...)
	var stderr []byte
	cmd.Stderr = writerFunc(func(p []byte) (int, error) { stderr = append(stderr, p...); return len(p), nil })
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr)
	}
	return out
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

// artifactDir is the repository's test output directory (out/ is
// ignored by git), where CI picks up screenshots.
func artifactDir(t *testing.T) string {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "out", "test-artifacts"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
