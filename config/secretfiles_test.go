package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEverySecretFromAFile reads each secret of the configuration from a
// *_file next to the configuration file, and from its environment variable,
// which wins. Secrets are never required to be in the configuration file.
func TestEverySecretFromAFile(t *testing.T) {
	tests := []struct {
		name string
		yml  string // with the relative file name "s"
		env  string // "" if the secret has no variable
		get  func(*Config) string
	}{
		{"api.token", "api: {token_file: s}", EnvAPIToken, func(c *Config) string { return string(c.API.Token) }},
		{"webhooks.generic.token", "webhooks: {generic: {token_file: s}}", EnvGenericToken,
			func(c *Config) string { return string(c.Webhooks.Generic.Token) }},
		{"webhooks.zadarma.secret", "webhooks: {zadarma: {secret_file: s, api_key: k}}", EnvZadarmaSecret,
			func(c *Config) string { return string(c.Webhooks.Zadarma.Secret) }},
		{"webhooks.zadarma.api_key", "webhooks: {zadarma: {secret: x, api_key_file: s}}", EnvZadarmaAPIKey,
			func(c *Config) string { return string(c.Webhooks.Zadarma.APIKey) }},
		{"webhooks.mango.api_key", "webhooks: {mango: {api_key_file: s, api_salt: x}}", EnvMangoAPIKey,
			func(c *Config) string { return string(c.Webhooks.Mango.APIKey) }},
		{"webhooks.mango.api_salt", "webhooks: {mango: {api_key: x, api_salt_file: s}}", EnvMangoAPISalt,
			func(c *Config) string { return string(c.Webhooks.Mango.APISalt) }},
		{"webhooks.gravitel.token", "webhooks: {gravitel: {token_file: s}}", EnvGravitelToken,
			func(c *Config) string { return string(c.Webhooks.Gravitel.Token) }},
		{"asterisk.password", "asterisk: {url: 'http://pbx:8088', user: u, password_file: s}", EnvAsteriskPassword,
			func(c *Config) string { return string(c.Asterisk.Password) }},
		{"crm.amocrm.token", "crm: {amocrm: {base_url: 'https://x.amocrm.ru', token_file: s}}", EnvAmoCRMToken,
			func(c *Config) string { return string(c.CRM.AmoCRM.Token) }},
		{"crm.bitrix24.client_secret", "crm: {bitrix24: {endpoint: 'https://x.bitrix24.ru/rest/', client_id: c, default_user_id: '1', client_secret_file: s}}",
			EnvBitrix24ClientSecret, func(c *Config) string { return string(c.CRM.Bitrix24.ClientSecret) }},
		{"recordings.link_key", "recordings: {link_key_file: s}", EnvRecordingLinkKey,
			func(c *Config) string { return string(c.Recordings.LinkKey) }},
		{"report.smtp.password", "report: {smtp: {password_file: s}}", EnvSMTPPassword,
			func(c *Config) string { return string(c.Report.SMTP.Password) }},
		{"metrics.token", "metrics: {token_file: s}", EnvMetricsToken, func(c *Config) string { return string(c.Metrics.Token) }},
		{"clickhouse.dsn", "clickhouse: {dsn_file: s}", EnvClickHouseDSN, func(c *Config) string { return c.ClickHouse.DSN }},
	}
	const fromFile, fromEnv = "clickhouse://u:file-Secret@h:9000/db", "clickhouse://u:env-Secret@h:9000/db"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "s"), []byte(fromFile+"\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			name := filepath.Join(dir, "callpulse.yml")
			c, err := Parse([]byte(tt.yml+"\n"), name, noEnv)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := tt.get(c); got != fromFile {
				t.Errorf("from the file: %q, want %q", got, fromFile)
			}
			c, err = Parse([]byte(tt.yml+"\n"), name, env(map[string]string{tt.env: fromEnv}))
			if err != nil {
				t.Fatalf("Parse with %s: %v", tt.env, err)
			}
			if got := tt.get(c); got != fromEnv {
				t.Errorf("with %s set: %q, want %q", tt.env, got, fromEnv)
			}
		})
	}
}

// TestDSNAndDSNFile: like every secret, the DSN is given one way only.
func TestDSNAndDSNFile(t *testing.T) {
	_, err := Parse([]byte("clickhouse:\n  dsn: clickhouse://h:9000/db\n  dsn_file: s\n"), "callpulse.yml", noEnv)
	if err == nil || err.Error() != "callpulse.yml:3: clickhouse.dsn_file: set together with clickhouse.dsn (line 2); use one or the other" {
		t.Errorf("Parse = %v", err)
	}
}

// TestAPITokenDiffersFromEveryPBXSecret: a PBX, which holds its webhook
// credential, must not be able to read analytics with it.
func TestAPITokenDiffersFromEveryPBXSecret(t *testing.T) {
	tests := []struct{ path, webhooks string }{
		{"webhooks.generic.token", "generic: {token: same}"},
		{"webhooks.zadarma.secret", "zadarma: {secret: same, api_key: k}"},
		{"webhooks.mango.api_key", "mango: {api_key: same, api_salt: s}"},
		{"webhooks.mango.api_salt", "mango: {api_key: k, api_salt: same}"},
		{"webhooks.gravitel.token", "gravitel: {token: same}"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			yml := "api: {token: same}\nwebhooks:\n  " + tt.webhooks + "\n"
			if !strings.Contains(tt.webhooks, "generic") {
				yml += "  generic: {token: g}\n"
			}
			c, err := Parse([]byte(yml), "callpulse.yml", noEnv)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			want := tt.path + ": must differ from api.token: the PBX must not be able to read analytics"
			if err := c.ValidateForServe(); err == nil || err.Error() != want {
				t.Errorf("ValidateForServe = %v, want %q", err, want)
			}
		})
	}
}

func TestMetricsTokenDiffersFromTheAPIToken(t *testing.T) {
	c, err := Parse([]byte("api: {token: same}\nwebhooks: {generic: {token: g}}\nmetrics: {token: same}\n"), "callpulse.yml", noEnv)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	want := "metrics.token: must differ from api.token: Prometheus must not be able to read the API"
	if err := c.ValidateForServe(); err == nil || err.Error() != want {
		t.Errorf("ValidateForServe = %v, want %q", err, want)
	}
}
