package recordings

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/callpulse/callpulse/call"
)

// Locator turns a provider's recording reference into the request that downloads it.
//
// Locate is called once per fetch attempt, under the attempt's time limit
// (ctx). It may call the provider's API through client, which is the guarded
// client of e.Provider: every request it sends, and every redirect, must go
// to one of the provider's allowed hosts. Build requests with ctx
// (http.NewRequestWithContext) so they are cancelled with the attempt.
//
// e carries only Provider, CallID, EventKey, ReceivedAt, RecordingURL and
// RecordingRef of the event that announced the recording.
//
// Errors: wrap ErrNotReady when the provider says the recording does not
// exist yet (it is retried with backoff until Options.GiveUpAfter), and
// ErrPermanent when retrying cannot help (e.g. the provider says there is no
// such recording, or the credentials are rejected). Any other error is
// retried like a network failure. Error texts are logged and kept in the job
// store: never put credentials or signed URLs in them.
type Locator interface {
	Locate(ctx context.Context, client *http.Client, e call.Event) (*http.Request, error)
}

// ErrNotReady is the error a Locator wraps when the provider has no
// recording yet. Download responses 404 and 425 mean the same.
var ErrNotReady = errors.New("recording not ready")

// ErrPermanent is the error a Locator wraps when the recording can never be
// fetched; the job is marked dead at once.
var ErrPermanent = errors.New("recording cannot be fetched")

// DirectLocator downloads Event.RecordingURL with a plain GET. It is used for
// providers that deliver a recording URL in their webhook (generic, Gravitel)
// and have no Locator of their own.
type DirectLocator struct{}

// Locate returns a GET request for e.RecordingURL.
func (DirectLocator) Locate(ctx context.Context, _ *http.Client, e call.Event) (*http.Request, error) {
	if e.RecordingURL == "" {
		return nil, fmt.Errorf("event has no recording URL: %w", ErrPermanent)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.RecordingURL, nil)
	if err != nil {
		// url.Parse errors quote the URL, which may carry a token.
		return nil, fmt.Errorf("recording URL does not parse: %w", ErrPermanent)
	}
	return req, nil
}
