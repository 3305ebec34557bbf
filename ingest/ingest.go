// Package ingest turns PBX webhooks into normalised call events on the
// spool. A request is answered 2xx only after its events are fsynced; bad
// input gets a 4xx with a reason and changes nothing; a full or failing
// spool gets 503 with Retry-After so the PBX retries later.
//
// Each PBX has its own package under ingest/ implementing Provider; app
// lists them explicitly.
package ingest

import (
	"context"
	"net/http"
	"time"

	"github.com/callpulse/callpulse/call"
)

// Provider authenticates and parses one PBX's webhook requests. It serves
// POST /webhooks/{Name} and every sub-path below it (Mango appends event
// paths such as /events/call).
type Provider interface {
	// Name is the provider's name in URLs, metrics and call events.
	Name() string
	// Parse checks the request's credentials and turns its body into call
	// events. It returns an *Error for anything the sender got wrong, in
	// which case nothing is stored.
	Parse(r *http.Request, body []byte, now time.Time) (Parsed, error)
}

// Parsed is what a provider made of one request.
type Parsed struct {
	// Events go to the spool; the request is acknowledged once they are
	// durable. It may be empty (a ping, a handshake, a lookup).
	Events []call.Event
	// Reply writes the success response, after the events are durable. Nil
	// means 200 with {"accepted": n}. PBXs that want an empty body, or a
	// synchronous answer (a contact lookup), set it.
	Reply func(w http.ResponseWriter)
}

// GetHandler is implemented by providers that also answer GET on their
// path (Zadarma's zd_echo URL check). It must not change any state.
type GetHandler interface {
	ServeGET(w http.ResponseWriter, r *http.Request)
}

// Appender is the spool as ingest uses it: Append returns once the payloads
// are durable.
type Appender interface {
	Append(ctx context.Context, payloads ...[]byte) (uint64, error)
}
