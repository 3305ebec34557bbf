package bitrix24

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/go-resty/resty/v2"

	"github.com/callpulse/callpulse/crmsync"
)

// tokenResponse is the answer of the OAuth server (settings/oauth/index.md).
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
	ExpiresIn    int64  `json:"expires_in"`
	Error        string `json:"error"`
	Description  string `json:"error_description"`
}

// refresh exchanges the refresh token for new tokens, unless another
// goroutine already replaced stale. The new tokens are saved before use;
// if saving fails they are used anyway (the old refresh token is dead) and
// the save is retried before the next request.
func (c *Client) refresh(ctx context.Context, stale string) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.tokens.AccessToken != stale {
		return nil
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.Timeout)
	defer cancel()
	resp, err := c.http.R().SetContext(rctx).
		SetHeader("Accept", "application/json").
		SetQueryParams(map[string]string{
			"grant_type":    "refresh_token",
			"client_id":     c.opts.ClientID,
			"client_secret": c.opts.ClientSecret,
			"refresh_token": c.tokens.RefreshToken,
		}).
		Get(c.opts.OAuthURL)
	if err != nil {
		return transportError(ctx, "oauth refresh", err)
	}
	var tr tokenResponse
	_ = json.Unmarshal(resp.Body(), &tr)
	if status := resp.StatusCode(); tr.Error != "" || status != 200 || tr.AccessToken == "" || tr.RefreshToken == "" {
		reason := tr.Error
		if reason == "" {
			reason = "oauth refresh failed"
		}
		// 5xx and 429 are transient; invalid_grant, invalid_client or a 200
		// without tokens mean the application must be authorised again.
		ce := &crmsync.Error{Status: status, Reason: reason}
		if status >= 500 || status == http.StatusTooManyRequests {
			ce.Retryable, ce.RetryAfter = true, retryAfter(resp.Header(), c.opts.Now())
		}
		ce.Err = fmt.Errorf("bitrix24 oauth refresh: %s", describe(tr.Description))
		return ce
	}
	t := Tokens{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken}
	if tr.ExpiresIn > 0 {
		t.Expires = c.opts.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	c.tokens = t
	c.saveLocked()
	c.log.Info("bitrix24: access token refreshed", "crm", c.opts.Name)
	return nil
}

// saveLocked persists c.tokens; c.mu is held. A failure is logged and
// leaves c.unsaved set, so the next request tries again.
func (c *Client) saveLocked() {
	if err := c.opts.Tokens.Save(c.tokens); err != nil {
		c.unsaved = true
		c.log.Error("bitrix24: refreshed tokens not saved; retrying before the next request", "crm", c.opts.Name, "err", err)
		return
	}
	c.unsaved = false
}

// Grant is the answer to an authorization-code exchange: the first tokens
// of the application and the portal's REST endpoint.
type Grant struct {
	Tokens Tokens
	// Endpoint is the client_endpoint, "https://<portal>/rest/".
	Endpoint string
}

// ExchangeCode trades the code the portal gave the administrator's browser
// (after they opened https://<portal>/oauth/authorize/?client_id=…) for the
// application's first tokens (grant_type=authorization_code,
// settings/oauth/index.md). The code is valid for 30 seconds and once.
// oauthURL "" is DefaultOAuthURL.
func ExchangeCode(ctx context.Context, oauthURL, clientID, clientSecret, code string, hc *http.Client) (Grant, error) {
	if oauthURL == "" {
		oauthURL = DefaultOAuthURL
	}
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	resp, err := resty.NewWithClient(hc).SetLogger(nopLogger{}).SetDisableWarn(true).R().SetContext(ctx).
		SetHeader("Accept", "application/json").
		SetQueryParams(map[string]string{
			"grant_type":    "authorization_code",
			"client_id":     clientID,
			"client_secret": clientSecret,
			"code":          code,
		}).
		Get(oauthURL)
	if err != nil {
		return Grant{}, transportError(ctx, "oauth authorization_code", err)
	}
	var tr struct {
		tokenResponse
		Endpoint string `json:"client_endpoint"`
	}
	_ = json.Unmarshal(resp.Body(), &tr)
	if tr.Error != "" || resp.StatusCode() != http.StatusOK || tr.AccessToken == "" || tr.RefreshToken == "" {
		reason := tr.Error
		if reason == "" {
			reason = fmt.Sprintf("HTTP %d without tokens", resp.StatusCode())
		}
		return Grant{}, fmt.Errorf("bitrix24 oauth: exchange the authorization code: %s (%s)", reason, describe(tr.Description))
	}
	g := Grant{Tokens: Tokens{AccessToken: tr.AccessToken, RefreshToken: tr.RefreshToken}, Endpoint: tr.Endpoint}
	if tr.ExpiresIn > 0 {
		g.Tokens.Expires = time.Now().Add(time.Duration(tr.ExpiresIn) * time.Second)
	}
	return g, nil
}
