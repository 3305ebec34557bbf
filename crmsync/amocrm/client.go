package amocrm

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/callpulse/callpulse/crmsync"
)

// Client talks to one amoCRM account. It is safe for concurrent use.
type Client struct {
	opts Options
	http *resty.Client
	log  *slog.Logger

	mu sync.Mutex
	// entities remembers the card each pushed call landed on, by call key,
	// so that its callback task is linked to it. Bounded by maxEntities.
	entities map[string]entity
}

const maxEntities = 10000

// entity is an amoCRM card: entity_type ("leads", "contacts", ...) and id.
type entity struct {
	Type string
	ID   int64
}

// New checks opts and returns a Client.
func New(opts Options) (*Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.Source == "" {
		opts.Source = DefaultSource
	}
	if opts.Timeout == 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	rc := resty.NewWithClient(hc).
		SetBaseURL(strings.TrimRight(opts.BaseURL, "/")).
		SetTimeout(opts.Timeout).
		SetAuthToken(opts.Token).
		SetHeader("Accept", "application/hal+json, application/json, application/problem+json").
		SetRetryCount(0) // retries belong to the crmsync outbox
	return &Client{opts: opts, http: rc, log: opts.Logger, entities: map[string]entity{}}, nil
}

// Name is the Pusher name.
func (c *Client) Name() string { return c.opts.Name }

// problem is an application/problem+json error body (§7.1).
type problem struct {
	Title  string `json:"title"`
	Detail string `json:"detail"`
	Status int    `json:"status"`
}

// do sends a request and decodes a 2xx JSON body into out (if not nil).
// 204 leaves out untouched. Failures are *crmsync.Error: 429, 5xx and
// transport errors retryable (Retry-After honoured), 401 and other 4xx
// permanent with the problem title as reason.
func (c *Client) do(ctx context.Context, method, path string, body, out any, query map[string][]string) (int, error) {
	if c.opts.Throttle != nil {
		if err := c.opts.Throttle.Wait(ctx); err != nil {
			return 0, fmt.Errorf("%s %s: wait for the rate limit: %w", method, path, err)
		}
	}
	req := c.http.R().SetContext(ctx)
	if body != nil {
		req.SetHeader("Content-Type", "application/json").SetBody(body)
	}
	if out != nil {
		req.SetResult(out)
	}
	var pr problem
	req.SetError(&pr)
	for k, vs := range query {
		for _, v := range vs {
			req.QueryParam.Add(k, v)
		}
	}
	op := method + " " + path
	resp, err := req.Execute(method, path)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
			err = fmt.Errorf("%w: %w", ctxErr, err)
		}
		return 0, &crmsync.Error{Retryable: true, Reason: "transport", Err: fmt.Errorf("%s: %w", op, err)}
	}
	status := resp.StatusCode()
	reason := pr.Title
	if reason == "" {
		reason = http.StatusText(status)
	}
	if status == http.StatusUnauthorized {
		reason = "token invalid or expired (long-lived tokens cannot be refreshed): " + reason
	}
	if ce := crmsync.StatusError(status, retryAfter(resp.Header().Get("Retry-After"), c.opts.Now()), op+": "+reason); ce != nil {
		return status, ce
	}
	return status, nil
}

// retryAfter parses a Retry-After header: delay-seconds or an HTTP date.
func retryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (c *Client) remember(key string, e entity) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.entities) >= maxEntities {
		clear(c.entities) // a cache: losing it only leaves later tasks unlinked
	}
	c.entities[key] = e
}

func (c *Client) entity(key string) (entity, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entities[key]
	return e, ok
}

// userID parses a configured CRM user id; "" or garbage gives 0 (omitted).
func userID(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
