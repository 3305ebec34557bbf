package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/internal/tlstest"
)

func TestTLS(t *testing.T) {
	dir := t.TempDir()
	pair := tlstest.SelfSigned(t, dir)
	other := tlstest.SelfSigned(t, t.TempDir())
	garbage := filepath.Join(dir, "garbage.pem")
	const keyMaterial = "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oaPNlCz5WsK5"
	if err := os.WriteFile(garbage, []byte("-----BEGIN PRIVATE KEY-----\n"+keyMaterial+"\n-----END PRIVATE KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, yml string
		want      string // substring of the error; "" = valid
	}{
		{"off", "", ""},
		{"relative to the config file", "tls: {cert_file: cert.pem, key_file: key.pem}", ""},
		{"absolute", "tls: {cert_file: " + pair.CertFile + ", key_file: " + pair.KeyFile + "}", ""},
		{"cert only", "tls: {cert_file: cert.pem}", ":1: tls: set both cert_file and key_file, or neither"},
		{"key only", "tls:\n  key_file: key.pem", ":1: tls: set both cert_file and key_file, or neither"},
		{"missing file", "tls: {cert_file: nope.pem, key_file: key.pem}", "nope.pem: no such file or directory"},
		{"key of another certificate", "tls: {cert_file: cert.pem, key_file: " + other.KeyFile + "}", "private key does not match public key"},
		{"key that does not parse", "tls: {cert_file: cert.pem, key_file: garbage.pem}", ":1: tls: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Parse([]byte(tt.yml+"\n"), filepath.Join(dir, "callpulse.yml"), noEnv)
			if tt.want != "" {
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("Parse = %v, want an error with %q", err, tt.want)
				}
				if strings.Contains(err.Error(), keyMaterial) {
					t.Errorf("error shows key material: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if tt.yml == "" {
				if c.TLS.Enabled() {
					t.Error("TLS enabled without files")
				}
				return
			}
			if !c.TLS.Enabled() || c.TLS.CertFile != pair.CertFile || c.TLS.KeyFile != pair.KeyFile {
				t.Errorf("TLS = %+v, want %s and %s", c.TLS, pair.CertFile, pair.KeyFile)
			}
			if _, err := c.TLS.Load(); err != nil {
				t.Errorf("Load: %v", err)
			}
		})
	}
}
