package asterisk

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"

	"github.com/callpulse/callpulse/call"
)

// ErrNotLocatable is wrapped by every Locate error. All of them are
// permanent (wrong provider, no or malformed recording name): retrying
// cannot help. A recording ARI has not stored yet answers 404 on download.
var ErrNotLocatable = errors.New("asterisk recording cannot be located")

// Locate returns the request that downloads the recording of e, an event
// of this provider with a RecordingRef (a stored recording name from
// RecordingFinished): GET {URL}/ari/recordings/stored/{name}/file (spec
// §4.3) with HTTP Basic auth, even with Options.APIKeyInQuery, so that the
// request URL, which fetchers log and store, never carries the password.
// The response body is the audio. client is unused: ARI serves the file
// directly, without a lookup first.
func (s *Source) Locate(ctx context.Context, client *http.Client, e call.Event) (*http.Request, error) {
	if e.Provider != Name {
		return nil, fmt.Errorf("%w: event of provider %q", ErrNotLocatable, e.Provider)
	}
	if e.RecordingRef == "" {
		return nil, fmt.Errorf("%w: event has no recording reference", ErrNotLocatable)
	}
	if err := checkID("recording_ref", e.RecordingRef); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrNotLocatable, err)
	}
	u := s.baseURL()
	switch u.Scheme {
	case "ws":
		u.Scheme = "http"
	case "wss":
		u.Scheme = "https"
	}
	prefix := u.EscapedPath()
	u.Path += "/ari/recordings/stored/" + e.RecordingRef + "/file"
	u.RawPath = prefix + "/ari/recordings/stored/" + url.PathEscape(e.RecordingRef) + "/file"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("%w: build request: %w", ErrNotLocatable, err)
	}
	req.SetBasicAuth(s.opts.User, s.opts.Password)
	return req, nil
}
