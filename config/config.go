// Package config loads and validates the callpulse configuration file.
//
// The configuration is one YAML file, decoded strictly: unknown keys, repeated
// keys and values of the wrong kind are errors. Every setting has a default
// (see Default), and a key that is left out or given no value keeps it, so an
// empty file is a valid configuration. A few settings can be overridden from
// the environment, which wins over the file:
//
//	CALLPULSE_LISTEN           listen
//	CALLPULSE_DATA_DIR         data_dir
//	CALLPULSE_TIMEZONE         timezone
//	CALLPULSE_CLICKHOUSE_DSN   clickhouse.dsn
//	CALLPULSE_API_TOKEN        api.token (and api.token_file)
//	CALLPULSE_GENERIC_TOKEN    webhooks.generic.token (and webhooks.generic.token_file)
//
// Load reports every problem at once as Errors, each pointing at the file and
// line, or the environment variable, the offending value came from. Secret
// values (tokens, the DSN password) never appear in error messages.
package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// Environment variables that override settings from the file. A variable that
// is set but empty is ignored.
const (
	EnvListen        = "CALLPULSE_LISTEN"
	EnvDataDir       = "CALLPULSE_DATA_DIR"
	EnvTimezone      = "CALLPULSE_TIMEZONE"
	EnvClickHouseDSN = "CALLPULSE_CLICKHOUSE_DSN"
	EnvAPIToken      = "CALLPULSE_API_TOKEN"
	EnvGenericToken  = "CALLPULSE_GENERIC_TOKEN"
	EnvMetricsToken  = "CALLPULSE_METRICS_TOKEN"
)

// Config is the whole callpulse configuration. Values returned by Load and
// Parse are validated; Default returns a valid configuration as well.
type Config struct {
	// Listen is the host:port the HTTP server (webhooks, API, /metrics)
	// listens on.
	Listen string `yaml:"listen"`
	// TLS, when set, makes the server on Listen speak HTTPS.
	TLS TLSConfig `yaml:"tls"`
	// MaxConnections bounds the connections the server on Listen holds at
	// once; one more is answered 503 with Retry-After and closed.
	MaxConnections int `yaml:"max_connections"`
	// DataDir holds the spool and the daemon's state. A relative path is
	// relative to the daemon's working directory.
	DataDir string `yaml:"data_dir"`
	// Timezone is the IANA name of the zone whose midnights bound report
	// days. See Location.
	Timezone string `yaml:"timezone"`
	// DefaultRegion is the ISO 3166-1 alpha-2 region, upper case, in which
	// phone numbers without a country code are read.
	DefaultRegion string `yaml:"default_region"`

	Log        LogConfig        `yaml:"log"`
	API        TokenConfig      `yaml:"api"`
	ClickHouse ClickHouseConfig `yaml:"clickhouse"`
	Spool      SpoolConfig      `yaml:"spool"`
	Webhooks   WebhooksConfig   `yaml:"webhooks"`
	Targets    Targets          `yaml:"targets"`
	// Managers maps PBX extensions to the sales managers who use them.
	Managers []Manager `yaml:"managers"`
	// Lines maps our call-tracking numbers to the ad source they advertise.
	Lines   []Line        `yaml:"lines"`
	Metrics MetricsConfig `yaml:"metrics"`
	// Asterisk configures the ARI event stream; enabled when url is set.
	Asterisk   AsteriskConfig   `yaml:"asterisk"`
	Recordings RecordingsConfig `yaml:"recordings"`
	Live       LiveConfig       `yaml:"live"`
	Analytics  AnalyticsConfig  `yaml:"analytics"`
	Scoring    ScoringConfig    `yaml:"scoring"`
	Report     ReportConfig     `yaml:"report"`
	CRM        CRMConfig        `yaml:"crm"`
	Debug      DebugConfig      `yaml:"debug"`

	location *time.Location
}

// LogConfig configures the daemon's log.
type LogConfig struct {
	// Level is one of debug, info, warn and error.
	Level string `yaml:"level"`
	// Format is text or json.
	Format string `yaml:"format"`
}

// TokenConfig is a bearer token, given in the file, in a file of its own, or
// in the environment. After loading, Token holds the token from wherever it
// came; TokenFile is kept as written.
type TokenConfig struct {
	Token Secret `yaml:"token"`
	// TokenFile names a file holding the token; surrounding white space is
	// trimmed. A relative path is relative to the configuration file's
	// directory.
	TokenFile string `yaml:"token_file"`
}

// ClickHouseConfig configures the connection to ClickHouse and the batching
// of inserts.
type ClickHouseConfig struct {
	// DSN is clickhouse://[user[:password]@]host:port/database[?options].
	// It may hold a password: log RedactedDSN instead.
	DSN string `yaml:"dsn"`
	// DSNFile names a file holding the DSN (white space trimmed), so that
	// its password need not be in this file.
	DSNFile string `yaml:"dsn_file"`
	// BatchRows is the number of rows at which the writer flushes a batch.
	BatchRows int `yaml:"batch_rows"`
	// BatchAge is how long the oldest row of a batch may wait before the
	// writer flushes it.
	BatchAge     time.Duration `yaml:"batch_age"`
	DialTimeout  time.Duration `yaml:"dial_timeout"`
	QueryTimeout time.Duration `yaml:"query_timeout"`
	// Cluster names a ClickHouse cluster (remote_servers) of one shard
	// with replicas; migrations then create replicated tables on every
	// server of it (docs/operations.md, "Scale-out"). Empty: one server.
	Cluster string `yaml:"cluster"`

	addr     string
	database string
}

// SpoolConfig bounds the on-disk spool of received webhooks.
type SpoolConfig struct {
	// MaxBytes is the most the spool may hold on disk.
	MaxBytes ByteSize `yaml:"max_bytes"`
	// SegmentBytes is the size at which a spool segment is closed and a new
	// one started. It is at most MaxBytes.
	SegmentBytes ByteSize `yaml:"segment_bytes"`
}

// WebhooksConfig configures the PBX webhook endpoints.
type WebhooksConfig struct {
	// MaxBodyBytes is the largest request body accepted; larger bodies are
	// answered with 413.
	MaxBodyBytes ByteSize `yaml:"max_body_bytes"`
	// Generic configures the generic webhook.
	Generic GenericConfig `yaml:"generic"`
	// Zadarma, Mango and Gravitel configure those PBXs' webhooks; each is
	// enabled when its secret is set.
	Zadarma  ZadarmaConfig  `yaml:"zadarma"`
	Mango    MangoConfig    `yaml:"mango"`
	Gravitel GravitelConfig `yaml:"gravitel"`
}

// Targets are the wanted shares of talk time per client category. Each is in
// [0, 1] and together they sum to 1 (within 0.001).
type Targets struct {
	A float64 `yaml:"A"`
	B float64 `yaml:"B"`
	C float64 `yaml:"C"`
}

// Manager is a sales manager and the PBX extensions they answer on.
type Manager struct {
	// ID is a slug of 1 to 32 characters from [a-z0-9_-], unique among
	// managers; it is used in metric labels.
	ID string `yaml:"id"`
	// Name is the manager's name for humans.
	Name string `yaml:"name"`
	// Extensions are the manager's PBX extensions: non-empty, without white
	// space, and each belonging to one manager only.
	Extensions []string `yaml:"extensions"`
}

// Line is one of our own phone numbers (a call-tracking DID) and the ad source
// that publishes it.
type Line struct {
	// Phone is the number in E.164 form. In the file it may be written in any
	// form the default region understands; loading normalises it.
	Phone string `yaml:"phone"`
	// Source names the ad source: 1 to 64 characters from [a-z0-9_.-].
	Source string `yaml:"source"`
}

// MetricsConfig configures the Prometheus metrics.
type MetricsConfig struct {
	// RefreshInterval is how often business gauges are recomputed from
	// ClickHouse, hot leads looked for and the call queue published for
	// the dashboards.
	RefreshInterval time.Duration `yaml:"refresh_interval"`
	// Token, when set, is the bearer token /metrics requires (Prometheus:
	// authorization.credentials_file). Unset, /metrics is open to whoever
	// reaches listen.
	Token Secret `yaml:"token"`
	// TokenFile names a file holding Token (white space trimmed).
	TokenFile string `yaml:"token_file"`
}

// DebugConfig holds diagnostics for operators, all off by default.
type DebugConfig struct {
	// PprofListen, when set, is the host:port of a listener of its own that
	// serves Go's runtime profiles (net/http/pprof under /debug/pprof/),
	// without authentication: keep it on loopback, such as 127.0.0.1:6060.
	PprofListen string `yaml:"pprof_listen"`
}

// Default returns the configuration an empty file yields. It is the one place
// defaults are defined.
func Default() Config {
	return Config{
		Listen:         "127.0.0.1:8080",
		MaxConnections: 1024,
		DataDir:        "./var/data",
		Timezone:       "UTC",
		DefaultRegion:  "RU",
		Log: LogConfig{
			Level:  "info",
			Format: "text",
		},
		ClickHouse: ClickHouseConfig{
			DSN:          "clickhouse://127.0.0.1:9000/callpulse",
			BatchRows:    10000,
			BatchAge:     time.Second,
			DialTimeout:  5 * time.Second,
			QueryTimeout: 30 * time.Second,
			addr:         "127.0.0.1:9000",
			database:     "callpulse",
		},
		Spool: SpoolConfig{
			MaxBytes:     1 * GiB,
			SegmentBytes: 64 * MiB,
		},
		Webhooks: WebhooksConfig{
			MaxBodyBytes: 1 * MiB,
			Zadarma:      ZadarmaConfig{APIURL: "https://api.zadarma.com", RecordingHosts: []string{"api.zadarma.com", "*.zadarma.com"}},
			Mango:        MangoConfig{APIURL: "https://app.mango-office.ru/vpbx", RecordingHosts: []string{"app.mango-office.ru", "*.mango-office.ru"}},
			Gravitel:     GravitelConfig{ContactTimeout: 2 * time.Second},
		},
		Asterisk: AsteriskConfig{App: "callpulse"},
		Recordings: RecordingsConfig{
			MaxBytes:    100 * MiB,
			Timeout:     2 * time.Minute,
			Delay:       40 * time.Second,
			GiveUpAfter: 24 * time.Hour,
			Workers:     2,
		},
		Live:      LiveConfig{Buffer: 256},
		Analytics: AnalyticsConfig{CallbackSLA: 15 * time.Minute},
		Scoring: ScoringConfig{
			Points:            DefaultPoints(),
			Lookback:          90 * 24 * time.Hour,
			MinSample:         10,
			FallbackThreshold: 30,
			KeepTouches:       2_000_000,
		},
		Report: ReportConfig{
			Schedule: "0 7 * * *", Language: "ru", WeeklyOnMonday: true,
			SMTP: SMTPConfig{TLS: "starttls"}, location: time.UTC,
		},
		CRM:     defaultCRM(),
		Targets: Targets{A: 0.80, B: 0.19, C: 0.01},
		Metrics: MetricsConfig{
			RefreshInterval: 30 * time.Second,
		},
		location: time.UTC,
	}
}

// Location returns the time zone named by Timezone. It is nil in a Config not
// made by Default, Load or Parse.
func (c *Config) Location() *time.Location { return c.location }

// ManagerByExtension returns the managers keyed by each of their extensions.
func (c *Config) ManagerByExtension() map[string]Manager {
	m := make(map[string]Manager)
	for _, mgr := range c.Managers {
		for _, ext := range mgr.Extensions {
			m[ext] = mgr
		}
	}
	return m
}

// SourceByLine returns the ad source of each line, keyed by the line's E.164
// number.
func (c *Config) SourceByLine() map[string]string {
	m := make(map[string]string, len(c.Lines))
	for _, l := range c.Lines {
		m[l.Phone] = l.Source
	}
	return m
}

// ManagerIDs returns the managers' IDs in the order of the file.
func (c *Config) ManagerIDs() []string {
	ids := make([]string, len(c.Managers))
	for i, m := range c.Managers {
		ids[i] = m.ID
	}
	return ids
}

// ValidateForServe reports the settings that Load accepts as missing but the
// daemon cannot serve without: the API token and the generic webhook token.
// Each error says which environment variable or key to set.
func (c *Config) ValidateForServe() error {
	var errs Errors
	missing := func(path, env string) {
		errs = append(errs, &Error{
			Path: path + ".token",
			Err:  fmt.Errorf("not set; set %s, or %s.token or %s.token_file in the configuration file", env, path, path),
		})
	}
	if c.API.Token == "" {
		missing("api", EnvAPIToken)
	}
	if c.Webhooks.Generic.Token == "" {
		missing("webhooks.generic", EnvGenericToken)
	}
	// Every credential a PBX holds must differ from the API token.
	w := c.Webhooks
	for _, s := range []struct {
		path  string
		value Secret
	}{
		{"webhooks.generic.token", w.Generic.Token}, {"webhooks.zadarma.secret", w.Zadarma.Secret},
		{"webhooks.mango.api_key", w.Mango.APIKey}, {"webhooks.mango.api_salt", w.Mango.APISalt},
		{"webhooks.gravitel.token", w.Gravitel.Token},
	} {
		if c.API.Token != "" && c.API.Token == s.value {
			errs = append(errs, &Error{
				Path: s.path,
				Err:  errors.New("must differ from api.token: the PBX must not be able to read analytics"),
			})
		}
	}
	// Prometheus holds the metrics token: it must not open the API.
	if c.Metrics.Token != "" && c.Metrics.Token == c.API.Token {
		errs = append(errs, &Error{
			Path: "metrics.token",
			Err:  errors.New("must differ from api.token: Prometheus must not be able to read the API"),
		})
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// SlogLevel returns Level as a slog.Level.
func (l LogConfig) SlogLevel() slog.Level {
	switch l.Level {
	case "debug":
		return slog.LevelDebug
	case "warn":
		return slog.LevelWarn
	case "error":
		return slog.LevelError
	default:
		return slog.LevelInfo
	}
}

// Addr returns the host:port of the ClickHouse server named by DSN.
func (c ClickHouseConfig) Addr() string { return c.addr }

// Database returns the database named by DSN.
func (c ClickHouseConfig) Database() string { return c.database }

// RedactedDSN returns DSN with any password, in the user information or in a
// password option, replaced by "xxxxx", for logs.
func (c ClickHouseConfig) RedactedDSN() string {
	if c.DSN == "" {
		return ""
	}
	u, err := url.Parse(c.DSN)
	if err != nil {
		return redacted
	}
	if q := u.Query(); q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// Sum returns A+B+C.
func (t Targets) Sum() float64 { return t.A + t.B + t.C }
