// Package mango is the Mango Office VPBX ("API ВАТС") adapter: Mango POSTs
// its notifications to <base URL>/events/call, /events/summary,
// /events/recording, /events/record/added, ... with the form fields
// vpbx_api_key, sign and json, where
//
//	sign = lowercase hex(SHA-256(vpbx_api_key + json + vpbx_api_salt))
//
// over the json field exactly as received.
//
// Events are folded by entry_id (the whole call; call_id is one leg of it).
// The end-of-call /events/summary is the authoritative record of a call;
// per-leg /events/call notifications add real-time start, answer and end
// times and the managers involved. Recording notifications carry the
// recording_id that Locate turns into a download request.
package mango

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// Name is the provider name in URLs and call events.
const Name = "mango"

// DefaultAPIURL is the base of Mango's VPBX API.
const DefaultAPIURL = "https://app.mango-office.ru/vpbx"

// Environment variables that the daemon maps to Options.
const (
	EnvAPIKey  = "CALLPULSE_MANGO_API_KEY"
	EnvAPISalt = "CALLPULSE_MANGO_API_SALT"
)

// Normalizer turns a phone number into E.164.
type Normalizer interface {
	Normalize(string) (string, error)
}

// Options configure the Mango adapter.
type Options struct {
	// APIKey is the VPBX's unique code ("Уникальный код вашей АТС"), sent by
	// Mango as vpbx_api_key. Env CALLPULSE_MANGO_API_KEY. Required.
	APIKey string
	// APISalt is the signing key ("Ключ для создания подписи"). It never
	// travels over the wire. Env CALLPULSE_MANGO_API_SALT. Required.
	APISalt string
	// APIURL is the base URL of the VPBX API used to fetch recordings.
	// Empty means DefaultAPIURL.
	APIURL string
	// Normalizer turns Mango's numbers into E.164. Required.
	Normalizer Normalizer
	// Logger receives debug records about ignored notifications. Nil
	// discards them.
	Logger *slog.Logger
}

// Validate reports the first problem with the options.
func (o Options) Validate() error {
	switch {
	case o.APIKey == "":
		return errors.New("mango: empty API key (set " + EnvAPIKey + ")")
	case o.APISalt == "":
		return errors.New("mango: empty API salt (set " + EnvAPISalt + ")")
	case o.Normalizer == nil:
		return errors.New("mango: no phone normalizer")
	}
	if o.APIURL != "" {
		u, err := url.Parse(o.APIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return fmt.Errorf("mango: API URL %q: want an absolute http(s) URL without a query", o.APIURL)
		}
	}
	return nil
}

// Provider parses Mango notifications and locates Mango recordings. It is
// safe for concurrent use.
type Provider struct {
	key    string
	salt   string
	apiURL string
	norm   Normalizer
	log    *slog.Logger
}

// New returns the Mango provider.
func New(opts Options) (*Provider, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	apiURL := strings.TrimRight(opts.APIURL, "/")
	if apiURL == "" {
		apiURL = DefaultAPIURL
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &Provider{
		key:    opts.APIKey,
		salt:   opts.APISalt,
		apiURL: apiURL,
		norm:   opts.Normalizer,
		log:    log.With("provider", Name),
	}, nil
}

// Name implements ingest.Provider.
func (p *Provider) Name() string { return Name }

// Parse implements ingest.Provider. It serves every path below
// /webhooks/mango and answers 200 with an empty body on success.
//
// Notifications that callpulse does not use (/events/dtmf, /events/sms,
// /result/..., and paths Mango adds in the future) are authenticated and
// acknowledged without events. /ping (the "check connection" button) is
// acknowledged without credentials; if it carries any, they must be valid.
func (p *Provider) Parse(r *http.Request, body []byte, now time.Time) (ingest.Parsed, error) {
	events, err := p.parse(r, body, now)
	if err != nil {
		return ingest.Parsed{}, err
	}
	return ingest.Parsed{Events: events, Reply: replyEmpty}, nil
}

func replyEmpty(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }

// Event paths below /webhooks/mango, lower-cased, without trailing slash.
const (
	pathCall        = "/events/call"
	pathSummary     = "/events/summary"
	pathRecording   = "/events/recording"
	pathRecordAdded = "/events/record/added"
	pathPing        = "/ping"
)

func (p *Provider) parse(r *http.Request, body []byte, now time.Time) ([]call.Event, error) {
	event := eventPath(r.URL.Path)
	f, err := readForm(r, body)
	if err != nil {
		return nil, err
	}
	if event == pathPing && f.anonymous() {
		return nil, nil
	}
	payload, err := p.authenticate(f)
	if err != nil {
		return nil, err
	}
	d := decoder{p: p, now: now.UTC()}
	switch event {
	case pathCall:
		return d.leg(payload)
	case pathSummary:
		return d.summary(payload)
	case pathRecording:
		return d.recording(payload)
	case pathRecordAdded:
		return d.recordAdded(payload)
	case pathPing:
		return nil, nil
	}
	p.log.Debug("ignored notification", "path", event)
	return nil, nil
}

// eventPath returns the path below /webhooks/mango in canonical form
// ("/events/call"): lower case, cleaned, without a trailing slash. Mango
// appends its event paths to the configured base URL.
func eventPath(p string) string {
	if rest, ok := strings.CutPrefix(p, "/webhooks/"+Name); ok && (rest == "" || rest[0] == '/') {
		p = rest
	}
	if p == "" {
		return "/"
	}
	return path.Clean("/" + strings.ToLower(p))
}
