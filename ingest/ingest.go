// Package ingest turns PBX webhooks into normalised call events on the
// spool. A request is answered 2xx only after its events are fsynced; bad
// input gets a 4xx with a reason and changes nothing; a full or failing
// spool gets 503 with Retry-After so the PBX retries later.
//
// Each PBX has its own package under ingest/ implementing Provider.
package ingest

import (
	"context"
	"net/http"
	"time"

	"github.com/callpulse/callpulse/call"
)

// Provider authenticates and parses one PBX's webhook requests.
type Provider interface {
	// Name is the provider's name in URLs, metrics and call events.
	Name() string
	// Parse checks the request's credentials and turns its body into call
	// events. It returns an *Error for anything the sender got wrong.
	Parse(r *http.Request, body []byte, now time.Time) ([]call.Event, error)
}

// Responder is implemented by providers whose PBX expects a particular
// success response (e.g. an empty body). Without it, ingest answers 200
// with {"accepted": n}.
type Responder interface {
	Respond(w http.ResponseWriter, events []call.Event)
}

// Appender is the spool as ingest uses it: Append returns once the payloads
// are durable.
type Appender interface {
	Append(ctx context.Context, payloads ...[]byte) (uint64, error)
}
