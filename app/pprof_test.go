package app

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/internal/chtest"
)

// TestPprof: the runtime profiles are served only on debug.pprof_listen,
// a listener of their own, and only when it is set; never on the main
// listener.
func TestPprof(t *testing.T) {
	dsn := chtest.NewDatabase(t)
	for _, tc := range []struct {
		name   string
		listen string
	}{
		{"off by default", ""},
		{"on a loopback listener of its own", "127.0.0.1:0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := newConfig(t, dsn, t.TempDir())
			cfg.Debug.PprofListen = tc.listen
			d := startDaemon(t, cfg)

			if code, _ := d.get("/debug/pprof/heap?debug=1", apiToken); code != http.StatusNotFound {
				t.Errorf("main listener GET /debug/pprof/heap: %d, want 404", code)
			}
			addr := d.app.PprofAddr()
			if tc.listen == "" {
				if addr != "" {
					t.Errorf("PprofAddr() = %q with debug.pprof_listen unset, want \"\"", addr)
				}
				return
			}
			for path, want := range map[string]string{
				"/debug/pprof/heap?debug=1":      "heap profile:",
				"/debug/pprof/goroutine?debug=1": "goroutine profile:",
				"/debug/pprof/":                  "Types of profiles available",
			} {
				resp, err := http.Get("http://" + addr + path)
				if err != nil {
					t.Fatalf("GET %s: %v", path, err)
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), want) {
					t.Errorf("GET %s on %s: %d, body without %q", path, addr, resp.StatusCode, want)
				}
			}
		})
	}
}
