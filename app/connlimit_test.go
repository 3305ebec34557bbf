package app

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/internal/scrape"
)

// TestMaxConnections: with max_connections open, one more connection is
// answered 503 with Retry-After at once, and a slot is free again as soon
// as a connection holding one has closed.
func TestMaxConnections(t *testing.T) {
	cfg := newConfig(t, chtest.NewDatabase(t), t.TempDir())
	cfg.MaxConnections = 1
	d := startDaemon(t, cfg)
	addr := strings.TrimPrefix(d.base, "http://")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}

	// A takes the only slot and keeps it: a keep-alive connection, served.
	a, ar := dial(t, addr)
	if code := rawGet(t, a, ar, "/healthz", false); code != http.StatusOK {
		t.Fatalf("A: %d", code)
	}

	// B is refused, whatever it asks.
	for _, path := range []string{"/healthz", "/webhooks/generic"} {
		resp, err := client.Get(d.base + path)
		if err != nil {
			t.Fatalf("B %s: %v, want a 503 answer", path, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" ||
			!strings.Contains(string(body), "too many connections") {
			t.Errorf("B %s: %d Retry-After %q %s, want 503 with Retry-After", path, resp.StatusCode, resp.Header.Get("Retry-After"), body)
		}
	}

	// A asks to close; once it reads the end of the connection, its slot
	// is free and C is served.
	if code := rawGet(t, a, ar, "/healthz", true); code != http.StatusOK {
		t.Fatalf("A's last request: %d", code)
	}
	if _, err := ar.ReadByte(); err != io.EOF {
		t.Fatalf("A after Connection: close: %v, want EOF", err)
	}
	c, cr := dial(t, addr)
	if code := rawGet(t, c, cr, "/healthz", true); code != http.StatusOK {
		t.Fatalf("C after A closed: %d, want 200", code)
	}
	if _, err := cr.ReadByte(); err != io.EOF { // C's slot is free again
		t.Fatalf("C after Connection: close: %v, want EOF", err)
	}

	m, err := scrape.Metrics(context.Background(), d.base+"/metrics")
	if err != nil {
		t.Fatal(err)
	}
	if got := m["callpulse_http_connections_refused_total"]; got != 2 {
		t.Errorf("callpulse_http_connections_refused_total = %v, want 2", got)
	}
}

// dial opens a connection the test closes at its end.
func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, bufio.NewReader(c)
}

// rawGet sends one GET on c and returns the status, leaving the
// connection open unless closing.
func rawGet(t *testing.T, c net.Conn, r *bufio.Reader, path string, closing bool) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://callpulse"+path, nil)
	req.Close = closing
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(r, req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// TestMetricsToken: with metrics.token set, /metrics needs it as a bearer
// token (and takes no other credential), while the probes stay open.
func TestMetricsToken(t *testing.T) {
	cfg := newConfig(t, chtest.NewDatabase(t), t.TempDir())
	cfg.Metrics.Token = "metrics-7f3a"
	d := startDaemon(t, cfg)
	for _, tt := range []struct {
		path, token string
		want        int
	}{
		{"/metrics", "", http.StatusUnauthorized},
		{"/metrics", apiToken, http.StatusUnauthorized},
		{"/metrics", "metrics-7f3a", http.StatusOK},
		{"/healthz", "", http.StatusOK},
		{"/api/v1/talk-time", "metrics-7f3a", http.StatusUnauthorized},
	} {
		if code, body := d.get(tt.path, tt.token); code != tt.want {
			t.Errorf("GET %s with %q: %d %s, want %d", tt.path, tt.token, code, body, tt.want)
		}
	}
}
