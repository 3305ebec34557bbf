// Package bitrix24 is the Bitrix24 REST client of crmsync: it pushes calls
// through telephony.externalCall.* (register → finish → attachRecord),
// adds callback to-dos or tasks, and pulls leads and deals changed since a
// watermark. See README.md and §6 of the protocol reference.
package bitrix24

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/callpulse/callpulse/crmsync"
)

// Client talks to one Bitrix24 portal. It implements crmsync.Pusher and
// crmsync.Puller and is safe for concurrent use.
type Client struct {
	opts Options
	http *resty.Client
	log  *slog.Logger

	mu      sync.Mutex
	tokens  Tokens // OAuth only
	unsaved bool   // tokens were refreshed but Tokens.Save failed

	registered registrations // calls registered in this process, by key
	noInner    stringSet     // extensions no portal user has as internal number
}

var (
	_ crmsync.Pusher      = (*Client)(nil)
	_ crmsync.Puller      = (*Client)(nil)
	_ crmsync.BatchPusher = (*Client)(nil)
)

// New validates opts and, for an OAuth application, loads the tokens.
func New(opts Options) (*Client, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{}
	}
	c := &Client{
		opts: opts,
		// resty's own logger would print transport errors, whose URL holds
		// the webhook code; errors are returned instead.
		http: resty.NewWithClient(hc).SetLogger(nopLogger{}).SetDisableWarn(true),
		log:  opts.Logger,
	}
	if opts.Tokens != nil {
		t, err := opts.Tokens.Load()
		if err != nil {
			return nil, fmt.Errorf("bitrix24: %w", err)
		}
		c.tokens = t
	}
	return c, nil
}

// Name is the Pusher name from Options.Name.
func (c *Client) Name() string { return c.opts.Name }

// response is the envelope of a successful answer (§6.1, §6.8).
type response struct {
	Result json.RawMessage `json:"result"`
	Next   *int            `json:"next"`
	Total  *int            `json:"total"`
}

// apiError is the envelope of a failed answer.
type apiError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
	Time        struct {
		OperatingResetAt float64 `json:"operating_reset_at"`
	} `json:"time"`
}

// Call invokes a REST method with JSON params and returns its result.
// Failures are *crmsync.Error (except a cancelled ctx); an expired access
// token is refreshed once and the call repeated.
func (c *Client) Call(ctx context.Context, method string, params map[string]any) (json.RawMessage, error) {
	r, err := c.call(ctx, method, params)
	return r.Result, err
}

func (c *Client) call(ctx context.Context, method string, params map[string]any) (response, error) {
	if c.opts.WebhookURL != "" && isTelephony(method) {
		return response{}, &crmsync.Error{Reason: codeWrongAuthType, Err: fmt.Errorf("bitrix24 %s: %w", method, ErrNeedsApplication)}
	}
	for attempt := 0; ; attempt++ {
		token, err := c.accessToken(ctx)
		if err != nil {
			return response{}, err
		}
		r, err := c.do(ctx, method, params, token)
		var ce *crmsync.Error
		if attempt == 0 && c.opts.WebhookURL == "" && errors.As(err, &ce) && ce.Reason == codeExpiredToken {
			if err := c.refresh(ctx, token); err != nil {
				return response{}, err
			}
			continue
		}
		return r, err
	}
}

// do sends one request; token is "" for a webhook.
func (c *Client) do(ctx context.Context, method string, params map[string]any, token string) (response, error) {
	if c.opts.Throttle != nil {
		if err := c.opts.Throttle.Wait(ctx); err != nil {
			return response{}, fmt.Errorf("bitrix24 %s: wait for the rate limit: %w", method, err)
		}
	}
	body := make(map[string]any, len(params)+1)
	for k, v := range params {
		body[k] = v
	}
	base := c.opts.Endpoint
	if c.opts.WebhookURL != "" {
		base = c.opts.WebhookURL
	} else {
		body["auth"] = token
	}
	b, err := json.Marshal(body)
	if err != nil {
		return response{}, &crmsync.Error{Reason: "encode", Err: fmt.Errorf("bitrix24 %s: %w", method, err)}
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	resp, err := c.http.R().SetContext(rctx).
		SetHeader("Content-Type", "application/json").
		SetHeader("Accept", "application/json").
		SetBody(b).
		Post(base + method)
	if err != nil {
		return response{}, transportError(ctx, method, err)
	}
	return c.decode(method, resp.StatusCode(), resp.Header(), resp.Body())
}

// decode turns an HTTP answer into a response or a classified error.
func (c *Client) decode(method string, status int, h http.Header, body []byte) (response, error) {
	var e apiError
	_ = json.Unmarshal(body, &e) // a non-JSON body is classified by status
	if e.Code != "" || status < 200 || status > 299 {
		return response{}, classify(method, status, h, e, c.opts.Now())
	}
	var r response
	if err := json.Unmarshal(body, &r); err != nil || r.Result == nil {
		return response{}, &crmsync.Error{Retryable: true, Status: status, Reason: "malformed response",
			Err: fmt.Errorf("bitrix24 %s: no result in the response", method)}
	}
	return r, nil
}

// transportError classifies a failed round trip: the caller's ctx ended
// (returned as is), or a retryable timeout or transport failure. It never
// includes the URL, which holds the webhook code.
func transportError(ctx context.Context, method string, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("bitrix24 %s: %w", method, ctx.Err())
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	reason := "transport"
	if errors.Is(err, context.DeadlineExceeded) || ue != nil && ue.Timeout() {
		reason = "timeout"
	}
	return &crmsync.Error{Retryable: true, Reason: reason, Err: fmt.Errorf("bitrix24 %s: %w", method, err)}
}

// accessToken returns the current access token ("" for a webhook),
// refreshing it first when it is known to have expired and retrying a
// failed Save of refreshed tokens.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	if c.opts.WebhookURL != "" {
		return "", nil
	}
	c.mu.Lock()
	if c.unsaved {
		c.saveLocked()
	}
	t := c.tokens
	c.mu.Unlock()
	if !t.Expires.IsZero() && !c.opts.Now().Before(t.Expires.Add(-time.Minute)) {
		if err := c.refresh(ctx, t.AccessToken); err != nil {
			return "", err
		}
		c.mu.Lock()
		t = c.tokens
		c.mu.Unlock()
	}
	return t.AccessToken, nil
}

func isTelephony(method string) bool {
	return strings.HasPrefix(strings.ToLower(method), "telephony.")
}

// nopLogger silences resty.
type nopLogger struct{}

func (nopLogger) Errorf(string, ...any) {}
func (nopLogger) Warnf(string, ...any)  {}
func (nopLogger) Debugf(string, ...any) {}
