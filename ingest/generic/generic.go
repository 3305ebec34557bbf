// Package generic is callpulse's own webhook format, for PBXs without a
// dedicated adapter and for integrators: POST /webhooks/generic with
// "Authorization: Bearer <token>" and a JSON call snapshot or an array of
// them (see the README for the fields).
//
// Each snapshot is one event of its call; snapshots of the same call_id are
// folded (earliest start and answer, latest end, strongest status), so a PBX
// may send a snapshot when the call is answered and another when it ends,
// in any order, any number of times.
package generic

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// Name is the provider name in URLs and call events.
const Name = "generic"

// MaxItems bounds the snapshots in one request.
const MaxItems = 1000

// Normalizer turns a phone number into E.164.
type Normalizer interface {
	Normalize(string) (string, error)
}

// Provider parses generic webhooks.
type Provider struct {
	tokenSum [sha256.Size]byte
	norm     Normalizer
}

// New returns the generic provider. token is the shared Bearer secret; it
// must not be empty.
func New(token string, norm Normalizer) (*Provider, error) {
	if token == "" {
		return nil, errors.New("generic webhook: empty token (set CALLPULSE_GENERIC_TOKEN)")
	}
	return &Provider{tokenSum: sha256.Sum256([]byte(token)), norm: norm}, nil
}

// Name implements ingest.Provider.
func (p *Provider) Name() string { return Name }

// Parse implements ingest.Provider.
func (p *Provider) Parse(r *http.Request, body []byte, now time.Time) (ingest.Parsed, error) {
	events, err := p.parse(r, body, now)
	return ingest.Parsed{Events: events}, err
}

func (p *Provider) parse(r *http.Request, body []byte, now time.Time) ([]call.Event, error) {
	if err := p.authenticate(r); err != nil {
		return nil, err
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && ct != "application/json" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return nil, &ingest.Error{Status: http.StatusUnsupportedMediaType, Msg: "Content-Type must be application/json"}
		}
	}
	items, isArray, err := splitItems(body)
	if err != nil {
		return nil, err
	}
	events := make([]call.Event, 0, len(items))
	for i, raw := range items {
		prefix := ""
		if isArray {
			prefix = fmt.Sprintf("[%d].", i)
		}
		e, err := p.parseItem(raw, prefix, now)
		if err != nil {
			return nil, err
		}
		events = append(events, e)
	}
	return events, nil
}

func (p *Provider) authenticate(r *http.Request) error {
	auth := r.Header.Get("Authorization")
	token, ok := strings.CutPrefix(auth, "Bearer ")
	if !ok || token == "" {
		return ingest.Unauthorized("missing Authorization: Bearer token")
	}
	// Digests are compared so that neither the content nor the length of
	// the token leaks through timing.
	sum := sha256.Sum256([]byte(token))
	if subtle.ConstantTimeCompare(sum[:], p.tokenSum[:]) != 1 {
		return ingest.Unauthorized("wrong token")
	}
	return nil
}

// splitItems accepts one JSON object or a non-empty array of objects.
func splitItems(body []byte) ([]json.RawMessage, bool, error) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return nil, false, ingest.BadRequest("", "empty body: want a JSON object or an array of them")
	}
	switch trimmed[0] {
	case '{':
		return []json.RawMessage{trimmed}, false, nil
	case '[':
		var items []json.RawMessage
		if err := json.Unmarshal(trimmed, &items); err != nil {
			return nil, true, ingest.BadRequest("", "invalid JSON array: %v", jsonReason(err))
		}
		if len(items) == 0 {
			return nil, true, ingest.BadRequest("", "empty array")
		}
		if len(items) > MaxItems {
			return nil, true, ingest.BadRequest("", "%d items in one request; at most %d", len(items), MaxItems)
		}
		return items, true, nil
	}
	return nil, false, ingest.BadRequest("", "want a JSON object or an array of them")
}

// jsonReason describes a decoding error without echoing input values.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	case errors.As(err, &typ):
		return fmt.Sprintf("wrong type %s, want %s", typ.Value, typ.Type)
	}
	return "malformed JSON"
}

// eventKey identifies a snapshot by its content, so that an exact
// re-delivery is recognised as the same event.
func eventKey(raw []byte) string {
	sum := sha256.Sum256(raw)
	return hex.EncodeToString(sum[:8])
}
