package bitrix24test

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"time"
)

// TokenLifetime is how long an access token lives (§6.1).
const TokenLifetime = time.Hour

// Tokens are what the server issued to the application.
type Tokens struct {
	AccessToken, RefreshToken string
	Expires                   time.Time
}

// IssueTokens authorises the application: it returns a new access token
// (valid for TokenLifetime on the server's clock) and refresh token; the
// previous refresh token stops working.
func (s *Server) IssueTokens() Tokens {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.issueLocked()
}

func (s *Server) issueLocked() Tokens {
	t := Tokens{AccessToken: randomHex(), RefreshToken: randomHex(), Expires: s.opts.Now().Add(TokenLifetime)}
	s.access[t.AccessToken] = t.Expires
	s.refresh = t.RefreshToken
	return t
}

// ExpireAccessTokens makes every issued access token expired.
func (s *Server) ExpireAccessTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.access {
		s.access[k] = time.Time{}
	}
}

// AuthorizationCode is what the portal hands the administrator's browser
// after they approve the application (the code parameter of the redirect,
// settings/oauth/index.md): exchanged once for tokens with
// grant_type=authorization_code.
func (s *Server) AuthorizationCode() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.code = randomHex()
	return s.code
}

// RevokeTokens uninstalls the application: every access token is
// unknown from now on (401 invalid_token) and the refresh token no longer
// works (invalid_grant), until IssueTokens.
func (s *Server) RevokeTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.access)
	s.refresh = ""
}

// serveToken implements grant_type=refresh_token and
// grant_type=authorization_code of the OAuth server.
func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if r.Method == http.MethodPost {
		_ = r.ParseForm()
		q = r.Form
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.record(Request{Method: "oauth.token", Params: decodeQuery(q), At: s.opts.Now()})
	grant := q.Get("grant_type")
	switch {
	case grant != "refresh_token" && grant != "authorization_code":
		writeError(w, http.StatusBadRequest, "unsupported_grant_type", "")
	case q.Get("client_id") != s.opts.ClientID || q.Get("client_secret") != s.opts.ClientSecret:
		writeError(w, http.StatusUnauthorized, "invalid_client", "")
	case grant == "refresh_token" && (s.refresh == "" || q.Get("refresh_token") != s.refresh),
		grant == "authorization_code" && (s.code == "" || q.Get("code") != s.code):
		writeError(w, http.StatusBadRequest, "invalid_grant", "")
	default:
		if grant == "authorization_code" {
			s.code = "" // one use
		}
		t := s.issueLocked()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"access_token": t.AccessToken, "refresh_token": t.RefreshToken, "expires_in": int(TokenLifetime.Seconds()),
			"expires": t.Expires.Unix(), "scope": "app", "client_endpoint": "http://" + r.Host + "/rest/",
			"server_endpoint": "http://" + r.Host + "/oauth/rest/", "status": "L",
		})
	}
}

// authorize checks the auth of a top-level call (§6.6): 401 NO_AUTH_FOUND
// without credentials or with a wrong webhook, 401 invalid_token for an
// unknown token, 401 expired_token for an expired one.
func (s *Server) authorize(method string, params map[string]any, webhook bool, now time.Time) *rpcError {
	if webhook {
		if method == "!badwebhook" {
			return errorf(http.StatusUnauthorized, "NO_AUTH_FOUND", "Wrong authorization data")
		}
		return nil
	}
	tok := str(params["auth"])
	exp, ok := s.access[tok]
	switch {
	case tok == "":
		return errorf(http.StatusUnauthorized, "NO_AUTH_FOUND", "Wrong authorization data")
	case !ok:
		return errorf(http.StatusUnauthorized, "invalid_token", "Unable to get application by token")
	case !now.Before(exp):
		return errorf(http.StatusUnauthorized, "expired_token", "The access token provided has expired.")
	}
	return nil
}

// take charges one request to the leaky bucket (§6.6): the level drains
// by Drain per second of the server's clock; a request that would lift it
// above Burst gets 503 QUERY_LIMIT_EXCEEDED and is not counted.
func (s *Server) take(now time.Time) *rpcError {
	if s.opts.Burst < 0 {
		return nil
	}
	if el := now.Sub(s.drained).Seconds(); el > 0 {
		s.level = max(0, s.level-el*s.opts.Drain)
		s.drained = now
	}
	if s.level+1 > float64(s.opts.Burst) {
		return errorf(http.StatusServiceUnavailable, "QUERY_LIMIT_EXCEEDED", "Too many requests")
	}
	s.level++
	return nil
}

func randomHex() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
