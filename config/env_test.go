package config

import (
	"os"
	"path/filepath"
	"testing"
)

// env returns a lookup function reading from m.
func env(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) {
		v, ok := m[k]
		return v, ok
	}
}

func TestEnvOverrides(t *testing.T) {
	// The file sets everything the environment can; the environment wins.
	const file = `
listen: "127.0.0.1:8080"
data_dir: ./from-file
timezone: Europe/Moscow
api:
  token: file-api-token
webhooks:
  generic:
    token_file: testdata/api.token
clickhouse:
  dsn: "clickhouse://127.0.0.1:9000/from_file"
`
	tests := []struct {
		env   string
		value string
		check func(*Config) (got, want any)
	}{
		{EnvListen, ":9999", func(c *Config) (any, any) { return c.Listen, ":9999" }},
		{EnvDataDir, "/srv/callpulse", func(c *Config) (any, any) { return c.DataDir, "/srv/callpulse" }},
		{EnvTimezone, "Asia/Yekaterinburg", func(c *Config) (any, any) { return c.Location().String(), "Asia/Yekaterinburg" }},
		{EnvClickHouseDSN, "clickhouse://ch:9000/from_env", func(c *Config) (any, any) { return c.ClickHouse.Database(), "from_env" }},
		{EnvAPIToken, "env-api-token", func(c *Config) (any, any) { return string(c.API.Token), "env-api-token" }},
		// The environment wins over token_file too.
		{EnvGenericToken, "env-generic-token", func(c *Config) (any, any) { return string(c.Webhooks.Generic.Token), "env-generic-token" }},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			c, err := Parse([]byte(file), "callpulse.yml", env(map[string]string{tt.env: tt.value}))
			if err != nil {
				t.Fatalf("Parse with %s=%s: %v", tt.env, tt.value, err)
			}
			if got, want := tt.check(c); got != want {
				t.Errorf("with %s=%s: got %v, want %v", tt.env, tt.value, got, want)
			}
		})
	}
}

func TestEnvOverridesTokenFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "api.token"), []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	name := filepath.Join(dir, "callpulse.yml")
	data := []byte("api:\n  token_file: api.token\n")

	c, err := Parse(data, name, noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c.API.Token); got != "from-file" {
		t.Errorf("token from token_file relative to the config file = %q, want %q", got, "from-file")
	}

	c, err = Parse(data, name, env(map[string]string{EnvAPIToken: "from-env"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := string(c.API.Token); got != "from-env" {
		t.Errorf("token with %s set = %q, want %q", EnvAPIToken, got, "from-env")
	}

	// With the token in the environment, token_file is not read at all.
	missing := []byte("api:\n  token_file: missing.token\n")
	if _, err := Parse(missing, name, env(map[string]string{EnvAPIToken: "from-env"})); err != nil {
		t.Errorf("Parse with %s set and a missing token_file: %v", EnvAPIToken, err)
	}
}

func TestEnvEmptyIsUnset(t *testing.T) {
	lookup := env(map[string]string{
		EnvListen: "", EnvDataDir: "", EnvTimezone: "", EnvClickHouseDSN: "",
		EnvAPIToken: "", EnvGenericToken: "",
	})
	c, err := Parse(nil, "callpulse.yml", lookup)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	if c.Listen != Default().Listen || c.API.Token != "" {
		t.Errorf("empty environment variables changed the configuration: %+v", c)
	}
}

func TestEnvBadValues(t *testing.T) {
	// The file's values are valid: each error must name the variable, not
	// the file.
	const file = "listen: \"127.0.0.1:8080\"\ntimezone: UTC\n"
	tests := []struct {
		env, value, want string
	}{
		{EnvListen, "8080", `CALLPULSE_LISTEN: invalid address "8080": want host:port, such as 127.0.0.1:8080 or :8080`},
		{EnvDataDir, "", ""}, // empty: ignored
		{EnvTimezone, "Moscow/Europe", `CALLPULSE_TIMEZONE: unknown time zone "Moscow/Europe"`},
		{EnvClickHouseDSN, "clickhouse://u:p@ch:9000", `CALLPULSE_CLICKHOUSE_DSN: no database: want clickhouse://[user[:password]@]host:port/database[?options]`},
		{EnvClickHouseDSN, "tcp://ch:9000/db", `CALLPULSE_CLICKHOUSE_DSN: scheme "tcp" is not clickhouse: want clickhouse://[user[:password]@]host:port/database[?options]`},
	}
	for _, tt := range tests {
		t.Run(tt.env+"="+tt.value, func(t *testing.T) {
			_, err := Parse([]byte(file), "callpulse.yml", env(map[string]string{tt.env: tt.value}))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Parse with %s=%q: %v, want no error", tt.env, tt.value, err)
			case tt.want != "" && (err == nil || err.Error() != tt.want):
				t.Errorf("Parse with %s=%q: error %v, want\n%s", tt.env, tt.value, err, tt.want)
			}
		})
	}
}
