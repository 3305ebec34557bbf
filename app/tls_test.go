package app

import (
	"crypto/tls"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/internal/tlstest"
)

// TestTLSListener: with tls.cert_file and tls.key_file the daemon speaks
// HTTPS (TLS 1.2 or newer) on its one port: webhooks, API and metrics;
// plain HTTP and TLS 1.1 are refused.
func TestTLSListener(t *testing.T) {
	pair := tlstest.SelfSigned(t, t.TempDir())
	cfg := newConfig(t, chtest.NewDatabase(t), t.TempDir())
	cfg.TLS = config.TLSConfig{CertFile: pair.CertFile, KeyFile: pair.KeyFile}
	d := startDaemon(t, cfg)
	base := "https://" + d.app.Addr()
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pair.Pool}}}

	do := func(method, path, token, body string) (*http.Response, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, path, err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	if resp, body := do(http.MethodGet, "/healthz", "", ""); resp.StatusCode != http.StatusOK || resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
		t.Errorf("GET /healthz over TLS: %d %q, TLS %+v", resp.StatusCode, body, resp.TLS)
	}
	if resp, body := do(http.MethodPost, "/webhooks/generic", genericToken, fixtureCalls[0]); resp.StatusCode != http.StatusOK {
		t.Errorf("webhook over TLS: %d %s", resp.StatusCode, body)
	}
	if resp, body := do(http.MethodGet, "/api/v1/talk-time", "", ""); resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("API over TLS without the token: %d %s, want 401", resp.StatusCode, body)
	}
	if resp, _ := do(http.MethodGet, "/metrics", "", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("metrics over TLS: %d", resp.StatusCode)
	}

	// Plain HTTP on the TLS port gets Go's 400, not the daemon.
	resp, err := http.Get("http://" + d.app.Addr() + "/healthz")
	if err != nil {
		t.Fatalf("plain HTTP: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("plain HTTP to the TLS port: %d, want 400", resp.StatusCode)
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: pair.Pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}}}
	if resp, err := old.Get(base + "/healthz"); err == nil {
		resp.Body.Close()
		t.Error("a TLS 1.1 client was served")
	}
}
