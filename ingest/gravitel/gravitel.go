// Package gravitel receives the "Universal CRM API" webhooks of MegaFon
// VATS, Gravitel, Kcell and other cloud PBXs built on the same platform:
// POST /webhooks/gravitel with an application/x-www-form-urlencoded body
// whose `cmd` field is history, event, contact or rating, authenticated by
// the `crm_token` field (the "CRM key" set in the PBX cabinet).
//
//   - history, the record of a finished call, becomes one call event with
//     the start, answer and end times, status, client, line and manager.
//   - event, real-time progress (INCOMING, ACCEPTED, COMPLETED, ...), becomes
//     a partial call event timed by its arrival, for the live feed; it folds
//     with the history record of the same callid.
//   - contact, the PBX asking who is calling, is answered synchronously with
//     the client's name and the responsible PBX user, chosen by routing
//     rules (see Route); it stores nothing.
//   - rating, a call-quality score, is acknowledged and not stored.
//
// See README.md for the PBX settings and the complete field mapping.
package gravitel

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// Name is the provider name in URLs and call events.
const Name = "gravitel"

// EnvToken names the environment variable that holds Options.Token.
const EnvToken = "CALLPULSE_GRAVITEL_TOKEN"

// DefaultContactTimeout bounds a contact lookup when Options.ContactTimeout
// is zero. The PBX holds the ringing call while it waits for the answer.
const DefaultContactTimeout = 2 * time.Second

// Normalizer turns a phone number into E.164.
type Normalizer interface {
	Normalize(string) (string, error)
}

// Options configure the provider.
type Options struct {
	// Token is the "CRM key" entered in the PBX web cabinet; every request
	// carries it as crm_token. Required (env EnvToken).
	Token string
	// Routing chooses the responsible PBX user in contact answers: the
	// first rule whose category matches the caller wins (see Route).
	Routing []Route
	// Directory finds callers for contact answers. Nil answers every
	// contact request with an empty contact.
	Directory Directory
	// Normalizer turns PBX phone numbers into E.164. Required.
	Normalizer Normalizer
	// ContactTimeout bounds a contact lookup; zero means
	// DefaultContactTimeout. On timeout the PBX gets an empty contact.
	ContactTimeout time.Duration
	// Logger receives lookup failures; nil discards them. Phone numbers
	// and the token are never logged.
	Logger *slog.Logger
}

// Validate reports every problem with the options.
func (o Options) Validate() error {
	var errs []error
	if o.Token == "" {
		errs = append(errs, errors.New("empty token (set "+EnvToken+" to the CRM key of the PBX cabinet)"))
	}
	if o.Normalizer == nil {
		errs = append(errs, errors.New("no phone normalizer"))
	}
	if o.ContactTimeout < 0 {
		errs = append(errs, fmt.Errorf("contact timeout %v: must not be negative", o.ContactTimeout))
	}
	if _, err := compileRoutes(o.Routing); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// Provider parses Universal CRM API webhooks. It is safe for concurrent use.
type Provider struct {
	tokenSum       [sha256.Size]byte
	routes         []Route
	dir            Directory
	norm           Normalizer
	contactTimeout time.Duration
	log            *slog.Logger
}

// New returns the provider, or the problems with opts.
func New(opts Options) (*Provider, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("gravitel webhook: %w", err)
	}
	routes, _ := compileRoutes(opts.Routing)
	p := &Provider{
		tokenSum:       sha256.Sum256([]byte(opts.Token)),
		routes:         routes,
		dir:            opts.Directory,
		norm:           opts.Normalizer,
		contactTimeout: opts.ContactTimeout,
		log:            opts.Logger,
	}
	if p.contactTimeout == 0 {
		p.contactTimeout = DefaultContactTimeout
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	p.log = p.log.With("provider", Name)
	return p, nil
}

// Name implements ingest.Provider.
func (p *Provider) Name() string { return Name }

// Parse implements ingest.Provider. history and event requests yield one
// call event each; contact and rating yield none. Every success is
// answered 200 with an empty body, except contact, which gets its JSON
// answer. The contact lookup runs here, bounded by r's context and the
// contact timeout, and never fails the request.
func (p *Provider) Parse(r *http.Request, body []byte, now time.Time) (ingest.Parsed, error) {
	f, formErr := readForm(r.Header.Get("Content-Type"), body)
	if err := p.authenticate(r, f); err != nil {
		return ingest.Parsed{}, err
	}
	if formErr != nil {
		return ingest.Parsed{}, formErr
	}
	var (
		e   call.Event
		err error
	)
	switch cmd := strings.ToLower(f.get("cmd")); cmd {
	case "history":
		e, err = p.history(f, now)
	case "event":
		e, err = p.event(f, now)
	case "contact":
		return p.contact(r.Context(), f), nil
	case "rating":
		// A call-quality score: there is nothing in a call event to hold
		// it, so it is acknowledged and dropped.
		return ingest.Parsed{Reply: emptyOK}, nil
	case "":
		return ingest.Parsed{}, ingest.BadRequest("cmd", "required: history, event, contact or rating")
	default:
		return ingest.Parsed{}, ingest.BadRequest("cmd", "unknown command; want history, event, contact or rating")
	}
	if err != nil {
		return ingest.Parsed{}, err
	}
	return ingest.Parsed{Events: []call.Event{e}, Reply: emptyOK}, nil
}

// authenticate checks crm_token, or, when the body has none, the X-API-KEY
// header that one Kcell implementation is seen to send (unconfirmed). Both
// hold the same key; digests are compared so that neither the content nor
// the length of the key leaks through timing.
func (p *Provider) authenticate(r *http.Request, f form) error {
	token := f.get("crm_token")
	if token == "" {
		token = strings.TrimSpace(r.Header.Get("X-API-KEY"))
	}
	if token == "" {
		return ingest.Unauthorized("missing crm_token")
	}
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], p.tokenSum[:]) != 1 {
		return ingest.Forbidden("wrong crm_token")
	}
	return nil
}

// emptyOK is the acknowledgement the PBX expects: 200 with no body.
func emptyOK(w http.ResponseWriter) { w.WriteHeader(http.StatusOK) }
