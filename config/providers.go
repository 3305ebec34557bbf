package config

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Environment variables of the PBX secrets.
const (
	EnvZadarmaSecret    = "CALLPULSE_ZADARMA_SECRET"
	EnvZadarmaAPIKey    = "CALLPULSE_ZADARMA_API_KEY"
	EnvMangoAPIKey      = "CALLPULSE_MANGO_API_KEY"
	EnvMangoAPISalt     = "CALLPULSE_MANGO_API_SALT"
	EnvGravitelToken    = "CALLPULSE_GRAVITEL_TOKEN"
	EnvAsteriskPassword = "CALLPULSE_ASTERISK_PASSWORD"
)

// GenericConfig configures the generic webhook.
type GenericConfig struct {
	// Token is the Bearer token the endpoint requires; TokenFile names a file
	// holding it.
	Token     Secret `yaml:"token"`
	TokenFile string `yaml:"token_file"`
	// RecordingHosts are the hosts recording_url may point at (exact, or
	// "*.example.com"). Empty: recordings of generic calls are not fetched.
	RecordingHosts []string `yaml:"recording_hosts"`
}

// ZadarmaConfig configures Zadarma (and Novofon) webhooks and the recording
// API. Enabled when Secret is set.
type ZadarmaConfig struct {
	// Secret signs webhooks and API requests (the API key's secret).
	Secret     Secret `yaml:"secret"`
	SecretFile string `yaml:"secret_file"`
	// APIKey is the user key of the API, for fetching recordings.
	APIKey     Secret `yaml:"api_key"`
	APIKeyFile string `yaml:"api_key_file"`
	APIURL     string `yaml:"api_url"`
	// Timezone is the zone of Zadarma's call_start times (default: timezone).
	Timezone       string   `yaml:"timezone"`
	RecordingHosts []string `yaml:"recording_hosts"`
}

// MangoConfig configures Mango Office VPBX webhooks and recordings. Enabled
// when APIKey and APISalt are set.
type MangoConfig struct {
	APIKey         Secret   `yaml:"api_key"`
	APIKeyFile     string   `yaml:"api_key_file"`
	APISalt        Secret   `yaml:"api_salt"`
	APISaltFile    string   `yaml:"api_salt_file"`
	APIURL         string   `yaml:"api_url"`
	RecordingHosts []string `yaml:"recording_hosts"`
}

// GravitelConfig configures the Gravitel / MegaFon "CRM API". Enabled when
// Token is set.
type GravitelConfig struct {
	Token          Secret   `yaml:"token"`
	TokenFile      string   `yaml:"token_file"`
	RecordingHosts []string `yaml:"recording_hosts"`
	// Routing chooses who answers a caller, by the caller's category, when
	// the PBX asks (cmd=contact).
	Routing        []Route       `yaml:"routing"`
	ContactTimeout time.Duration `yaml:"contact_timeout"`
}

// Route sends callers of one category to a manager's extension. Category is
// A, B, C, unknown, new (a number we do not know) or refused.
type Route struct {
	Category    string `yaml:"category"`
	Responsible string `yaml:"responsible"`
}

// AsteriskConfig configures the Asterisk ARI event stream. Enabled when URL
// is set.
type AsteriskConfig struct {
	// URL is the Asterisk HTTP server, e.g. http://pbx.local:8088.
	URL              string   `yaml:"url"`
	App              string   `yaml:"app"`
	User             string   `yaml:"user"`
	Password         Secret   `yaml:"password"`
	PasswordFile     string   `yaml:"password_file"`
	InboundContexts  []string `yaml:"inbound_contexts"`
	OutboundContexts []string `yaml:"outbound_contexts"`
}

// RecordingsConfig bounds the fetching of call recordings.
type RecordingsConfig struct {
	MaxBytes    ByteSize      `yaml:"max_bytes"`
	Timeout     time.Duration `yaml:"timeout"`
	Delay       time.Duration `yaml:"delay"`
	GiveUpAfter time.Duration `yaml:"give_up_after"`
	Workers     int           `yaml:"workers"`
	// AllowPrivate names the providers whose recordings may come from
	// loopback, private and CGNAT addresses (an on-premises PBX, typically
	// asterisk). Empty by default: it guards against requests to internal
	// services. Link-local and metadata addresses are always refused.
	AllowPrivate []string `yaml:"allow_private"`
	// LinkKey signs the public recording links put on CRM cards (at least
	// 16 bytes; several daemons behind one address share it). Empty: a
	// key generated once and kept in <data_dir>/recording-link.key.
	LinkKey     Secret `yaml:"link_key"`
	LinkKeyFile string `yaml:"link_key_file"`
}

// LiveConfig configures the live feed (GET /api/v1/live).
type LiveConfig struct {
	// ShowPhones puts client phone numbers in live feed messages.
	ShowPhones bool `yaml:"show_phones"`
	// Buffer is how many messages a wallboard may lag before it is dropped.
	Buffer int `yaml:"buffer"`
}

// providerSecrets settles the PBX secrets from the environment and files.
func (l *loader) providerSecrets(c *Config) {
	w := &c.Webhooks
	l.secret(&w.Zadarma.Secret, w.Zadarma.SecretFile, "webhooks.zadarma", "secret", EnvZadarmaSecret)
	l.secret(&w.Zadarma.APIKey, w.Zadarma.APIKeyFile, "webhooks.zadarma", "api_key", EnvZadarmaAPIKey)
	l.secret(&w.Mango.APIKey, w.Mango.APIKeyFile, "webhooks.mango", "api_key", EnvMangoAPIKey)
	l.secret(&w.Mango.APISalt, w.Mango.APISaltFile, "webhooks.mango", "api_salt", EnvMangoAPISalt)
	l.secret(&w.Gravitel.Token, w.Gravitel.TokenFile, "webhooks.gravitel", "token", EnvGravitelToken)
	l.secret(&c.Asterisk.Password, c.Asterisk.PasswordFile, "asterisk", "password", EnvAsteriskPassword)
}

var knownProviders = map[string]bool{"generic": true, "zadarma": true, "mango": true, "gravitel": true, "asterisk": true}

var routeCategories = map[string]bool{"A": true, "B": true, "C": true, "unknown": true, "new": true, "refused": true}

// validateProviders checks the PBX sections.
func (l *loader) validateProviders(c *Config) {
	w := c.Webhooks
	l.hosts("webhooks.generic.recording_hosts", w.Generic.RecordingHosts)
	l.hosts("webhooks.zadarma.recording_hosts", w.Zadarma.RecordingHosts)
	l.hosts("webhooks.mango.recording_hosts", w.Mango.RecordingHosts)
	l.hosts("webhooks.gravitel.recording_hosts", w.Gravitel.RecordingHosts)
	l.httpURL("webhooks.zadarma.api_url", w.Zadarma.APIURL)
	l.httpURL("webhooks.mango.api_url", w.Mango.APIURL)
	if tz := w.Zadarma.Timezone; tz != "" {
		if _, err := time.LoadLocation(tz); err != nil || tz == "Local" {
			l.fail("webhooks.zadarma.timezone", fmt.Errorf("unknown time zone %q", tz))
		}
	}
	if w.Zadarma.Secret != "" && w.Zadarma.APIKey == "" {
		l.fail("webhooks.zadarma.api_key", fmt.Errorf("not set; set %s to fetch recordings through the API", EnvZadarmaAPIKey))
	}
	if (w.Mango.APIKey == "") != (w.Mango.APISalt == "") {
		l.fail("webhooks.mango", errors.New("set both api_key and api_salt, or neither"))
	}
	seen := map[string]int{}
	for i, r := range w.Gravitel.Routing {
		p := fmt.Sprintf("webhooks.gravitel.routing[%d]", i)
		if !routeCategories[r.Category] {
			l.fail(p+".category", fmt.Errorf("%q: want A, B, C, unknown, new or refused", r.Category))
		} else if first, dup := seen[r.Category]; dup {
			l.fail(p+".category", fmt.Errorf("duplicate category %q (first at line %d)", r.Category, first))
		}
		seen[r.Category] = l.line(p)
		if strings.TrimSpace(r.Responsible) == "" {
			l.fail(p+".responsible", errEmpty)
		}
	}
	l.positive("webhooks.gravitel.contact_timeout", w.Gravitel.ContactTimeout)

	a := c.Asterisk
	if a.URL != "" {
		l.httpURL("asterisk.url", a.URL)
		if a.App == "" {
			l.fail("asterisk.app", errEmpty)
		}
		if a.User == "" || a.Password == "" {
			l.fail("asterisk", fmt.Errorf("user and password are required with url (password: %s or asterisk.password_file)", EnvAsteriskPassword))
		}
	}

	r := c.Recordings
	if r.LinkKey != "" && len(r.LinkKey) < 16 {
		l.fail("recordings.link_key", errors.New("too short: want at least 16 bytes (e.g. openssl rand -base64 32)"))
	}
	l.positive("recordings.timeout", r.Timeout)
	l.positive("recordings.delay", r.Delay)
	l.positive("recordings.give_up_after", r.GiveUpAfter)
	if r.MaxBytes <= 0 {
		l.fail("recordings.max_bytes", errors.New("must be positive"))
	}
	if r.Workers < 1 || r.Workers > 64 {
		l.fail("recordings.workers", errors.New("must be between 1 and 64"))
	}
	for i, name := range r.AllowPrivate {
		if !knownProviders[name] {
			l.fail(fmt.Sprintf("recordings.allow_private[%d]", i), fmt.Errorf("%q: want generic, zadarma, mango, gravitel or asterisk", name))
		}
	}
	if c.Live.Buffer < 1 {
		l.fail("live.buffer", errors.New("must be positive"))
	}
}

func (l *loader) hosts(path string, hosts []string) {
	for i, h := range hosts {
		bare := strings.TrimPrefix(h, "*.")
		if bare == "" || strings.ContainsAny(bare, "/:*@ ") {
			l.fail(fmt.Sprintf("%s[%d]", path, i), fmt.Errorf("%q: want a host name or *.domain", h))
		}
	}
}

func (l *loader) httpURL(path, raw string) {
	u, err := url.Parse(raw)
	switch {
	case err != nil || u.Host == "":
		l.fail(path, fmt.Errorf("%q: want an absolute URL", raw))
	case u.Scheme != "http" && u.Scheme != "https":
		l.fail(path, fmt.Errorf("%q: want http or https", raw))
	}
}
