package recordings

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"sync"
	"testing"

	"github.com/callpulse/callpulse/call"
)

// flipResolver answers publicIP for the first lookup of a name and
// loopback for every later one: a rebinding DNS server that passes the
// first check and then points the name at the host itself.
type flipResolver struct {
	mu      sync.Mutex
	lookups int
}

func (r *flipResolver) LookupNetIP(context.Context, string, string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lookups++
	if r.lookups == 1 {
		return []netip.Addr{netip.MustParseAddr(publicIP)}, nil
	}
	return []netip.Addr{netip.MustParseAddr("127.0.0.1")}, nil
}

// TestGuardRebindingBetweenFetches: the name is checked at every dial, not
// once: when it rebinds to loopback after a first, allowed fetch, the next
// connection is refused before it is made.
func TestGuardRebindingBetweenFetches(t *testing.T) {
	target := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Connection", "close") // no pooled connection to reuse
		serveBytes("audio/mpeg", mp3)(w, r)
	})
	env, _ := guardEnv(t, "flip.example.com")
	res := &flipResolver{}
	env.s.guard.resolver = res

	if o := env.fetchOnce(t, urlEvent("c-1", at(target, "flip.example.com", "/1.mp3"))); o.kind != outcomeStored {
		t.Fatalf("first fetch: %d %q (%v), want stored", o.kind, o.reason, o.err)
	}
	o := env.fetchOnce(t, urlEvent("c-2", at(target, "flip.example.com", "/2.mp3")))
	if o.kind != outcomeDead || o.reason != ReasonRefused {
		t.Errorf("after rebinding: %d %q (%v), want dead %q", o.kind, o.reason, o.err, ReasonRefused)
	}
	if n := target.count(); n != 1 {
		t.Errorf("requests reaching the target = %d, want 1", n)
	}
	if res.lookups != 2 {
		t.Errorf("lookups = %d, want one per connection (2)", res.lookups)
	}
}

// apiLocator calls its provider's API through the client it is given (as
// the Zadarma and Mango locators do) before it returns the download.
type apiLocator struct{ api, download string }

func (l apiLocator) Locate(ctx context.Context, client *http.Client, _ call.Event) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, l.api, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("ask the API: %w", err)
	}
	resp.Body.Close()
	return http.NewRequestWithContext(ctx, http.MethodGet, l.download, nil)
}

// TestGuardChecksLocators: what a provider's Locator asks for, its own API
// calls and the download it returns, goes through the same guard as plain
// recording URLs.
func TestGuardChecksLocators(t *testing.T) {
	target := newServer(t, serveBytes("audio/mpeg", mp3))
	good := at(target, "rec.example.com", "/r.mp3")
	tests := []struct {
		name    string
		locator Locator
		want    int // requests reaching the target
		reason  string
	}{
		{"download allowed", stubLocator{url: at(target, "rec.example.com", "")}, 1, ""},
		{"download to a host not allowed", stubLocator{url: at(target, "evil.example.org", "")}, 0, ReasonRefused},
		{"download to loopback", stubLocator{url: at(target, "127.0.0.1", "")}, 0, ReasonRefused},
		{"download to a name on loopback", stubLocator{url: at(target, "rebind.example.com", "")}, 0, ReasonRefused},
		{"download to metadata", stubLocator{url: "http://169.254.169.254/latest"}, 0, ReasonRefused},
		{"API call to loopback", apiLocator{api: at(target, "127.0.0.1", "/api"), download: good}, 0, ReasonRefused},
		{"API call to a private name", apiLocator{api: at(target, "mixed.example.com", "/api"), download: good}, 0, ReasonRefused},
		{"API call allowed", apiLocator{api: at(target, "rec.example.com", "/api"), download: good}, 2, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := target.count()
			env, _ := guardEnv(t, "rec.example.com", "mixed.example.com", "rebind.example.com", "127.0.0.1", "169.254.169.254")
			env.s.opts.Locators = map[string]Locator{testProvider: tt.locator}
			o := env.fetchOnce(t, refEvent(testProvider, "c-1", "r.mp3"))
			switch {
			case tt.reason == "" && o.kind != outcomeStored:
				t.Errorf("outcome = %d %q (%v), want stored", o.kind, o.reason, o.err)
			case tt.reason != "" && (o.kind != outcomeDead || o.reason != tt.reason):
				t.Errorf("outcome = %d %q (%v), want dead %q", o.kind, o.reason, o.err, tt.reason)
			}
			if n := target.count() - before; n != tt.want {
				t.Errorf("requests reaching the target = %d, want %d", n, tt.want)
			}
		})
	}
}

// TestGuardRefusesProxies: the guarded transport never uses an
// environment proxy, which would connect on its behalf past the address
// check.
func TestGuardRefusesProxies(t *testing.T) {
	t.Setenv("HTTP_PROXY", "http://127.0.0.1:1")
	t.Setenv("HTTPS_PROXY", "http://127.0.0.1:1")
	g := newGuard(&stubResolver{})
	for name, tr := range map[string]*http.Transport{"strict": g.strict, "private": g.private} {
		if tr.Proxy != nil {
			req, _ := http.NewRequest(http.MethodGet, "http://rec.example.com/", nil)
			if u, _ := tr.Proxy(req); u != nil {
				t.Errorf("%s transport proxies through %s", name, u)
			}
		}
	}
}
