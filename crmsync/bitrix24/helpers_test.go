package bitrix24

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
	"github.com/callpulse/callpulse/phone"
)

var msk = time.FixedZone("MSK", 3*3600)

// clock is a manual clock shared by the client and the emulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2024, 5, 14, 10, 0, 0, 0, msk)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// memStore is a TokenStore in memory that counts saves.
type memStore struct {
	mu    sync.Mutex
	t     Tokens
	saves int
	fail  error
}

func (m *memStore) Load() (Tokens, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.t, nil
}

func (m *memStore) Save(t Tokens) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.t = t
	m.saves++
	return nil
}

type fixture struct {
	srv   *bitrix24test.Server
	c     *Client
	store *memStore
	clock *clock
}

// newFixture starts an emulator and an OAuth client on one clock; mut
// adjusts the client options.
func newFixture(t *testing.T, mut func(*Options)) *fixture {
	t.Helper()
	clk := newClock()
	srv := bitrix24test.New(bitrix24test.Options{Now: clk.Now})
	t.Cleanup(srv.Close)
	tok := srv.IssueTokens()
	store := &memStore{t: Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken}}
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{
		Endpoint: srv.Endpoint(), ClientID: "app.test", ClientSecret: "secret", Tokens: store,
		OAuthURL: srv.OAuthURL(), DefaultUserID: "1", Location: msk, Normalizer: norm, Now: clk.Now,
	}
	if mut != nil {
		mut(&opts)
	}
	c, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{srv: srv, c: c, store: store, clock: clk}
}

// classified returns the *crmsync.Error of err or fails the test.
func classified(t *testing.T, err error) *crmsync.Error {
	t.Helper()
	var ce *crmsync.Error
	if !errors.As(err, &ce) {
		t.Fatalf("error %v: want a *crmsync.Error", err)
	}
	return ce
}

// str formats a param the emulator decoded (json.Number, string, …).
func str(v any) string { return fmt.Sprint(v) }
