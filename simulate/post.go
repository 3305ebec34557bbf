package simulate

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Retry policy for posts.
const (
	maxAttempts   = 10 // per post, the first one included
	backoffFirst  = 500 * time.Millisecond
	backoffMax    = 30 * time.Second
	retryAfterMax = 5 * time.Minute // ceiling on what a Retry-After may ask
	errorBodyMax  = 512             // bytes of a 4xx body worth logging
)

// poster posts bodies of snapshots (or touches) to callpulse, retrying what
// can be retried.
type poster struct {
	client   *http.Client
	endpoint string // {URL}/webhooks/generic, or {URL}/api/v1/touches
	token    string
	unit     string // what a body carries, for logs: "snapshots" or "touches"
	now      func() time.Time
	sleep    func(context.Context, time.Duration) error
	log      *slog.Logger
	stats    *Stats
	accepted *int64 // counts the items of accepted bodies: in stats
}

// post sends body, which carries n snapshots (or touches), until callpulse accepts it,
// refuses it with a 4xx, or maxAttempts have failed. A 503 (or 429) is
// retried after its Retry-After, other 5xx and transport errors after an
// exponential backoff. It returns an error only when ctx is done; the outcome
// is counted in the stats.
func (p *poster) post(ctx context.Context, body []byte, n int) error {
	backoff := backoffFirst
	for attempt := 1; ; attempt++ {
		v := p.attempt(ctx, body, n)
		if v.done {
			return nil
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if attempt == maxAttempts {
			p.stats.Dropped++
			p.log.Error("giving up on post", p.unit, n, "attempts", attempt, "reason", v.reason)
			return nil
		}
		wait := v.retryAfter
		if !v.hinted {
			wait, backoff = backoff, min(2*backoff, backoffMax)
		}
		p.stats.Retried++
		p.log.Warn("retrying post", p.unit, n, "attempt", attempt, "after", wait, "reason", v.reason)
		if err := p.sleep(ctx, wait); err != nil {
			return err
		}
	}
}

// verdict is the outcome of one attempt at a post.
type verdict struct {
	done       bool          // nothing more to do with this body
	reason     string        // why not done
	retryAfter time.Duration // when callpulse asked to be retried
	hinted     bool          // whether it did
}

// attempt makes one request and counts its outcome if it is final.
func (p *poster) attempt(ctx context.Context, body []byte, n int) verdict {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.endpoint, bytes.NewReader(body))
	if err != nil { // a malformed endpoint, which Options validation rules out
		p.stats.Rejected++
		p.log.Error("cannot build webhook request", "err", err)
		return verdict{done: true}
	}
	req.Header.Set("Authorization", "Bearer "+p.token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return verdict{reason: err.Error()}
	}
	defer resp.Body.Close()
	defer drain(resp.Body)

	switch code := resp.StatusCode; {
	case code >= 200 && code < 300:
		p.stats.Posts++
		*p.accepted += int64(n)
		return verdict{done: true}
	case code == http.StatusServiceUnavailable || code == http.StatusTooManyRequests:
		d, ok := parseRetryAfter(resp.Header.Get("Retry-After"), p.now())
		return verdict{reason: resp.Status, retryAfter: d, hinted: ok}
	case code >= 400 && code < 500:
		// Callpulse refuses what the simulator sent: a bug here, or a wrong
		// token. Retrying would not help.
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, errorBodyMax))
		p.stats.Rejected++
		p.log.Error("callpulse rejected a post", "status", code, p.unit, n,
			"response", strings.TrimSpace(string(msg)))
		return verdict{done: true}
	default:
		return verdict{reason: resp.Status}
	}
}

// parseRetryAfter reads a Retry-After header, in delay-seconds or HTTP-date
// form, relative to now. The delay is capped at retryAfterMax.
func parseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	var d time.Duration
	if secs, err := strconv.ParseUint(v, 10, 32); err == nil {
		d = time.Duration(secs) * time.Second
	} else if at, err := http.ParseTime(v); err == nil {
		d = max(at.Sub(now), 0)
	} else {
		return 0, false
	}
	return min(d, retryAfterMax), true
}

// drain reads what is left of a response body so the connection is reused.
func drain(r io.Reader) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r, 1<<20))
}
