// Package zadarma receives Zadarma (and Novofon) PBX notifications on
// POST /webhooks/zadarma and locates call recordings through the Zadarma API.
//
// Zadarma posts one form-urlencoded notification per call event (NOTIFY_START,
// NOTIFY_INTERNAL, NOTIFY_ANSWER, NOTIFY_END, NOTIFY_OUT_START, NOTIFY_OUT_END,
// NOTIFY_RECORD, NOTIFY_IVR), signed with the account's API secret. Each
// notification becomes one partial call.Event keyed by pbx_call_id; the events
// of a call are folded by call.Fold, so order and re-deliveries do not matter.
//
// The URL check Zadarma performs when the notification URL is saved
// (?zd_echo=<v>, answered with exactly v) is served on GET and on POST,
// before any signature check.
package zadarma

import (
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// Name is the provider name in URLs, metrics and call events.
const Name = "zadarma"

// DefaultAPIURL is the Zadarma API used when Options.APIURL is empty. The
// sandbox is https://api-sandbox.zadarma.com; Novofon uses the same signing
// at https://api.novofon.com.
const DefaultAPIURL = "https://api.zadarma.com"

// Normalizer turns a phone number into E.164 (phone.Normalizer satisfies it).
type Normalizer interface {
	Normalize(string) (string, error)
}

// Options configure the Zadarma provider.
type Options struct {
	// Secret is the API secret from the Zadarma account (Settings → API).
	// It verifies the Signature header of notifications and signs API
	// requests. Required (env CALLPULSE_ZADARMA_SECRET).
	Secret string
	// APIKey is the API user key paired with Secret. Only Locate needs it;
	// without it notifications are still accepted (env
	// CALLPULSE_ZADARMA_API_KEY).
	APIKey string
	// APIURL is the API base URL without the /v1 path; empty means
	// DefaultAPIURL.
	APIURL string
	// Location is the time zone call_start is written in (Zadarma sends a
	// zone-less "YYYY-MM-DD HH:MM:SS"; the zone is unconfirmed and most
	// likely the account's). Required: pass the daemon's time zone unless
	// the Zadarma account is set to another one.
	Location *time.Location
	// Normalizer turns phone numbers into E.164. Required.
	Normalizer Normalizer
	// Logger receives warnings about a probably wrong Location. Nil means
	// slog.Default().
	Logger *slog.Logger
}

// Validate reports the first problem with the options. Messages name the
// option, never its value.
func (o Options) Validate() error {
	switch {
	case o.Secret == "":
		return errors.New("zadarma: empty secret (set CALLPULSE_ZADARMA_SECRET)")
	case o.Location == nil:
		return errors.New("zadarma: no time zone for call_start")
	case o.Normalizer == nil:
		return errors.New("zadarma: no phone normalizer")
	}
	if o.APIURL != "" {
		u, err := url.Parse(o.APIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" {
			return errors.New("zadarma: api_url must be an absolute http(s) URL without a query")
		}
	}
	return nil
}

// Provider parses Zadarma notifications and locates recordings. It is safe
// for concurrent use.
type Provider struct {
	secret []byte
	apiKey string
	apiURL string
	loc    *time.Location
	norm   Normalizer
	log    *slog.Logger

	// lastClockWarn is the unix time of the last wrong-zone warning, to log
	// it at most once per clockWarnEvery.
	lastClockWarn atomic.Int64
}

// New returns the Zadarma provider for valid options.
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
		log = slog.Default()
	}
	return &Provider{secret: []byte(opts.Secret), apiKey: opts.APIKey, apiURL: apiURL,
		loc: opts.Location, norm: opts.Normalizer, log: log.With("provider", Name)}, nil
}

// Name implements ingest.Provider.
func (p *Provider) Name() string { return Name }

// Parse implements ingest.Provider. A zd_echo request (query or form) is
// answered with its value and yields no events. Otherwise the body must be a
// signed notification: a missing Signature is a 401, a wrong one a 403, an
// unknown event or a malformed field a 400. The success reply is 200 with an
// empty body, because Zadarma reads a body on NOTIFY_START and NOTIFY_IVR as
// call-routing instructions.
func (p *Provider) Parse(r *http.Request, body []byte, now time.Time) (ingest.Parsed, error) {
	if v, ok := r.URL.Query()["zd_echo"]; ok {
		return echoParsed(v)
	}
	form, err := parseForm(r.Header.Get("Content-Type"), body)
	if err != nil {
		return ingest.Parsed{}, err
	}
	if v, ok := form["zd_echo"]; ok {
		return echoParsed(v)
	}
	e, err := p.parse(form, r.Header.Get("Signature"), now)
	if err != nil {
		return ingest.Parsed{}, err
	}
	p.checkClock(e)
	return ingest.Parsed{Events: []call.Event{e}, Reply: emptyOK}, nil
}

// ServeGET implements ingest.GetHandler: Zadarma's URL check
// GET ?zd_echo=<v> is answered 200 text/plain with exactly v.
func (p *Provider) ServeGET(w http.ResponseWriter, r *http.Request) {
	v, ok := r.URL.Query()["zd_echo"]
	if !ok {
		writeError(w, ingest.BadRequest("zd_echo", "required: this URL only answers Zadarma's zd_echo check on GET"))
		return
	}
	reply, bad := echo(v)
	if bad != nil {
		writeError(w, bad)
		return
	}
	reply(w)
}

// maxEchoLen bounds the zd_echo value we reflect.
const maxEchoLen = 128

// echo returns the reply to a zd_echo check, which is exactly its value, if
// the value is one short string of printable ASCII.
func echo(vs []string) (func(http.ResponseWriter), *ingest.Error) {
	if len(vs) != 1 || vs[0] == "" || len(vs[0]) > maxEchoLen || !printableASCII(vs[0]) {
		return nil, ingest.BadRequest("zd_echo", "want one value of 1 to %d printable ASCII characters", maxEchoLen)
	}
	v := vs[0]
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.Header().Set("X-Content-Type-Options", "nosniff")
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte(v))
	}, nil
}

// echoParsed is echo for Parse: no events, the echo as the reply.
func echoParsed(vs []string) (ingest.Parsed, error) {
	reply, bad := echo(vs)
	if bad != nil {
		return ingest.Parsed{}, bad
	}
	return ingest.Parsed{Reply: reply}, nil
}

// emptyOK acknowledges a notification without a body (no routing change).
func emptyOK(w http.ResponseWriter) {
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
}

// parseForm decodes a form-urlencoded body. A missing Content-Type is
// accepted; another media type is a 415.
func parseForm(contentType string, body []byte) (url.Values, error) {
	if contentType != "" {
		mt, _, err := mime.ParseMediaType(contentType)
		if err != nil || mt != "application/x-www-form-urlencoded" {
			return nil, &ingest.Error{Status: http.StatusUnsupportedMediaType,
				Msg: "Content-Type must be application/x-www-form-urlencoded"}
		}
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return nil, ingest.BadRequest("", "malformed form body: %s", formReason(err))
	}
	return form, nil
}

// formReason describes a form decoding error without echoing input.
func formReason(err error) string {
	var esc url.EscapeError
	if errors.As(err, &esc) {
		return "invalid percent-escape"
	}
	if strings.Contains(err.Error(), "semicolon") {
		return "semicolon separator"
	}
	return "undecodable"
}

func writeError(w http.ResponseWriter, e *ingest.Error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
		Field string `json:"field,omitempty"`
	}{e.Msg, e.Field})
}

func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// clockTolerance is how far an end event's computed end time may be from its
// receive time before the Location is suspected; clockWarnEvery rate-limits
// the warning.
const (
	clockTolerance = 10 * time.Minute
	clockWarnEvery = time.Hour
)

// checkClock warns when an end notification, which Zadarma sends as the call
// ends, claims an end time far from its receive time: call_start is then
// probably read in the wrong zone, and talk times are wrong.
func (p *Provider) checkClock(e call.Event) {
	if e.EndedAt.IsZero() {
		return
	}
	skew := e.ReceivedAt.Sub(e.EndedAt)
	if skew.Abs() < clockTolerance {
		return
	}
	now, last := e.ReceivedAt.Unix(), p.lastClockWarn.Load()
	if now-last < int64(clockWarnEvery/time.Second) || !p.lastClockWarn.CompareAndSwap(last, now) {
		return
	}
	p.log.Warn("call end time far from receive time: if this repeats for fresh calls, call_start is read in the wrong time zone",
		"zone", p.loc.String(), "received_minus_ended", skew.Round(time.Minute).String())
}
