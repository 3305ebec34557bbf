package config

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

// TestSecretsNeverInErrors puts a secret wherever a mistake could drag it into
// an error message, and checks that none does.
func TestSecretsNeverInErrors(t *testing.T) {
	const secret = "Zq7-secret-VALUE-9x"
	tests := []struct {
		name string
		file string
		env  map[string]string
	}{
		{"token and token_file", "api:\n  token: " + secret + "\n  token_file: x.token\n", nil},
		{"token where a mapping belongs", "api: " + secret + "\n", nil},
		{"token as a sequence", "webhooks:\n  generic:\n    token: [" + secret + "]\n", nil},
		{"token as a mapping", "webhooks:\n  generic:\n    token: {" + secret + ": 1}\n", nil},
		{"token on a misspelt key", "api:\n  tokn: " + secret + "\n", nil},
		{"token repeated", "api:\n  token: " + secret + "\n  token: " + secret + "\n", nil},
		{"unterminated quote", "api:\n  token: \"" + secret + "\n", nil},
		{"bad indentation", "api:\n  token: " + secret + "\n token_file: x\n", nil},
		{"secret token_file content", "api:\n  token_file: x.token\n  token: " + secret + "\n", nil},
		{"DSN password, no database", "clickhouse:\n  dsn: clickhouse://u:" + secret + "@h:9000\n", nil},
		{"DSN password, bad port", "clickhouse:\n  dsn: clickhouse://u:" + secret + "@h:port/db\n", nil},
		{"DSN password, bad escape", "clickhouse:\n  dsn: clickhouse://u:" + secret + "%zz@h:9000/db\n", nil},
		{"DSN password, bad host", "clickhouse:\n  dsn: clickhouse://u:" + secret + "@h%20x:9000/db\n", nil},
		{"DSN password, bad scheme", "clickhouse:\n  dsn: http://u:" + secret + "@h:9000/db\n", nil},
		{"DSN password, bad query", "clickhouse:\n  dsn: clickhouse://h:9000/db?password=" + secret + "%zz\n", nil},
		{"env tokens with other errors", "timezone: Nowhere\n", map[string]string{
			EnvAPIToken:     secret,
			EnvGenericToken: secret,
			EnvListen:       "bad",
		}},
		{"env DSN", "", map[string]string{EnvClickHouseDSN: "clickhouse://u:" + secret + "@h:9000/bad-db"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse([]byte(tt.file), "callpulse.yml", env(tt.env))
			if err == nil {
				t.Fatal("Parse: no error; the case must provoke one")
			}
			if strings.Contains(err.Error(), secret) || strings.Contains(fmt.Sprintf("%+v", err), secret) {
				t.Errorf("error shows the secret:\n%v", err)
			}
		})
	}
}

func TestSecretFormatting(t *testing.T) {
	c, err := Load("testdata/good.yml", noEnv)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	secrets := []string{"api-token-from-file", "generic-token-in-file"}

	y, err := yaml.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	j, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, format := range []struct{ name, out string }{
		{"%v", fmt.Sprintf("%v", c)},
		{"%+v", fmt.Sprintf("%+v", c)},
		{"%#v", fmt.Sprintf("%#v", c)},
		{"%s", fmt.Sprintf("%s", c.API.Token)},
		{"%q", fmt.Sprintf("%q", c.API.Token)},
		{"yaml", string(y)},
		{"json", string(j)},
	} {
		for _, s := range secrets {
			if strings.Contains(format.out, s) {
				t.Errorf("%s shows a secret:\n%s", format.name, format.out)
			}
		}
		if !strings.Contains(format.out, "<secret>") && !strings.Contains(format.out, `\u003csecret\u003e`) {
			t.Errorf("%s does not show <secret> in place of the token:\n%s", format.name, format.out)
		}
	}

	if got := Secret("").String(); got != "" {
		t.Errorf(`Secret("").String() = %q, want ""`, got)
	}
}

func TestRedactedDSN(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"clickhouse://127.0.0.1:9000/callpulse", "clickhouse://127.0.0.1:9000/callpulse"},
		{"clickhouse://u:pa55@ch:9440/sales?secure=true", "clickhouse://u:xxxxx@ch:9440/sales?secure=true"},
		{"clickhouse://u@ch:9000/db", "clickhouse://u@ch:9000/db"},
		{"clickhouse://ch:9000/db?username=u&password=pa55", "clickhouse://ch:9000/db?password=xxxxx&username=u"},
		{"clickhouse://u:pa55@ch:9000/db%zz", "<secret>"},
	}
	for _, tt := range tests {
		c := ClickHouseConfig{DSN: tt.in}
		if got := c.RedactedDSN(); got != tt.want {
			t.Errorf("RedactedDSN() of %q = %q, want %q", tt.in, got, tt.want)
		}
	}
}
