package bitrix24

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
)

// An expired access token is refreshed once through the OAuth endpoint,
// the new pair persisted, and the call repeated.
func TestTokenRefreshPersisted(t *testing.T) {
	f := newFixture(t, nil)
	dir := t.TempDir()
	fs := FileTokenStore{Path: filepath.Join(dir, "tokens.json")}
	if err := fs.Save(f.store.t); err != nil {
		t.Fatal(err)
	}
	c, err := New(Options{Endpoint: f.srv.Endpoint(), ClientID: "app.test", ClientSecret: "secret",
		Tokens: fs, OAuthURL: f.srv.OAuthURL(), DefaultUserID: "1", Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.srv.ExpireAccessTokens()

	// Concurrent callers share one refresh.
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() { _, errs[i] = c.Call(context.Background(), "crm.deal.list", nil) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Requests("oauth.token")); n != 1 {
		t.Errorf("%d refreshes, want 1", n)
	}
	saved, err := fs.Load()
	if err != nil {
		t.Fatal(err)
	}
	if saved.AccessToken == f.store.t.AccessToken || saved.RefreshToken == f.store.t.RefreshToken {
		t.Errorf("tokens not replaced: %+v", saved)
	}
	if want := f.clock.Now().Add(time.Hour); !saved.Expires.Equal(want) {
		t.Errorf("expires %v, want %v", saved.Expires, want)
	}
	st, err := os.Stat(fs.Path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Errorf("token file mode %v (%v), want 0600", st.Mode(), err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("%d files in the directory, want only the token file", len(ents))
	}

	// A restarted client reads the refreshed tokens and works without
	// refreshing; telephony works with the new token too.
	c2, err := New(Options{Endpoint: f.srv.Endpoint(), ClientID: "app.test", ClientSecret: "secret",
		Tokens: fs, OAuthURL: f.srv.OAuthURL(), DefaultUserID: "1", Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c2.PushCall(context.Background(), callRecord("k", call.DirectionInbound, call.StatusAnswered, 3)); err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Requests("oauth.token")); n != 1 {
		t.Errorf("%d refreshes after restart, want still 1", n)
	}
}

// Tokens known to be expired are refreshed before the request.
func TestTokenRefreshAhead(t *testing.T) {
	f := newFixture(t, nil)
	f.store.t.Expires = f.clock.Now().Add(time.Hour)
	c, err := New(Options{Endpoint: f.srv.Endpoint(), ClientID: "app.test", ClientSecret: "secret",
		Tokens: f.store, OAuthURL: f.srv.OAuthURL(), Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(time.Hour)
	if _, err := c.Call(context.Background(), "crm.deal.list", nil); err != nil {
		t.Fatal(err)
	}
	if n := len(f.srv.Requests("crm.deal.list")); n != 1 {
		t.Errorf("%d list requests, want 1 (no expired_token round trip)", n)
	}
	if f.store.saves != 1 {
		t.Errorf("%d saves", f.store.saves)
	}
}

func TestTokenRefreshFailures(t *testing.T) {
	t.Run("revoked refresh token is permanent", func(t *testing.T) {
		f := newFixture(t, nil)
		f.srv.IssueTokens() // the fixture's refresh token is now stale
		f.srv.ExpireAccessTokens()
		_, err := f.c.Call(context.Background(), "crm.deal.list", nil)
		if ce := classified(t, err); ce.Retryable || ce.Reason != "invalid_grant" {
			t.Errorf("got %v: want permanent invalid_grant", err)
		}
	})
	t.Run("wrong access token is permanent, no refresh", func(t *testing.T) {
		f := newFixture(t, nil)
		f.store.t.AccessToken = "forged"
		c, err := New(Options{Endpoint: f.srv.Endpoint(), ClientID: "app.test", ClientSecret: "secret",
			Tokens: f.store, OAuthURL: f.srv.OAuthURL(), Now: f.clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		_, err = c.Call(context.Background(), "crm.deal.list", nil)
		if ce := classified(t, err); ce.Retryable || ce.Status != 401 || ce.Reason != "invalid_token" {
			t.Errorf("got %v", err)
		}
		if n := len(f.srv.Requests("oauth.token")); n != 0 {
			t.Errorf("%d refreshes", n)
		}
	})
	t.Run("save failure keeps the new tokens and retries the save", func(t *testing.T) {
		f := newFixture(t, nil)
		f.store.fail = errors.New("disk full")
		f.srv.ExpireAccessTokens()
		if _, err := f.c.Call(context.Background(), "crm.deal.list", nil); err != nil {
			t.Fatal(err)
		}
		f.store.mu.Lock()
		f.store.fail = nil
		f.store.mu.Unlock()
		if _, err := f.c.Call(context.Background(), "crm.deal.list", nil); err != nil {
			t.Fatal(err)
		}
		if f.store.saves != 1 || f.store.t.AccessToken != f.c.tokens.AccessToken {
			t.Errorf("saves %d, stored %+v", f.store.saves, f.store.t)
		}
		if n := len(f.srv.Requests("oauth.token")); n != 1 {
			t.Errorf("%d refreshes, want 1", n)
		}
	})
}

func TestFileTokenStoreLoadErrors(t *testing.T) {
	dir := t.TempDir()
	for name, body := range map[string]string{"garbage": "{", "empty": `{"access_token":""}`} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := (FileTokenStore{Path: p}).Load(); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
	if _, err := (FileTokenStore{Path: filepath.Join(dir, "missing")}).Load(); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing: %v", err)
	}
}
