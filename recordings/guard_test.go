package recordings

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
)

// publicIP stands for a public recording server; the test dialer routes it
// to the httptest servers on 127.0.0.1, so the guard's checks run unchanged
// and nothing leaves the machine.
const publicIP = "203.0.113.10"

// stubResolver answers from a table and records what it was asked.
type stubResolver struct {
	mu    sync.Mutex
	addrs map[string][]string
	asked []string
}

func (r *stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	host = strings.TrimSuffix(strings.ToLower(host), ".") // as DNS does
	r.asked = append(r.asked, host)
	var out []netip.Addr
	for _, a := range r.addrs[host] {
		out = append(out, netip.MustParseAddr(a))
	}
	if len(out) == 0 {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	return out, nil
}

// guardEnv is a store with the guard on: no AllowPrivate for "test", and a
// dialer that reaches only publicIP (routed to 127.0.0.1) and fails the
// test if the guard lets anything else through.
func guardEnv(t *testing.T, allowed ...string) (*testEnv, *stubResolver) {
	t.Helper()
	res := &stubResolver{addrs: map[string][]string{
		"rec.example.com":     {publicIP},
		"a.cdn.example.net":   {publicIP},
		"evil.example.org":    {publicIP},
		"rebind.example.com":  {"127.0.0.1"},
		"mixed.example.com":   {publicIP, "10.0.0.5"},
		"mapped.example.com":  {"::ffff:192.168.1.1"},
		"nat64.example.com":   {"64:ff9b::a9fe:a9fe"}, // 169.254.169.254
		"v6local.example.com": {"fd12:3456::1"},
	}}
	env := newEnv(t, func(o *Options) {
		o.AllowedHosts = map[string][]string{testProvider: allowed}
		o.AllowPrivate = nil
		o.Resolver = res
	})
	env.s.guard.dial = func(ctx context.Context, _ bool, network, addr string) (net.Conn, error) {
		host, port, err := net.SplitHostPort(addr)
		if err != nil || host != publicIP {
			t.Errorf("the guard let a connection to %s through", addr)
			return nil, errors.New("test dialer: unexpected address")
		}
		var d net.Dialer
		return d.DialContext(ctx, network, net.JoinHostPort("127.0.0.1", port))
	}
	return env, res
}

// at rewrites srv's URL to host, keeping the port.
func at(srv *server, host, path string) string {
	u, _ := url.Parse(srv.URL)
	return "http://" + net.JoinHostPort(host, u.Port()) + path
}

func redirectTo(target string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, target, http.StatusFound) }
}

func TestGuard(t *testing.T) {
	allowed := []string{"rec.example.com", "*.cdn.example.net", "rebind.example.com", "mixed.example.com",
		"mapped.example.com", "nat64.example.com", "v6local.example.com", "127.0.0.1", "169.254.169.254", "::ffff:127.0.0.1"}
	target := newServer(t, serveBytes("audio/mpeg", mp3)) // must never be reached but through publicIP
	tests := []struct {
		name   string
		url    func(origin *server) string
		origin http.HandlerFunc // the first server, at publicIP; nil: none
		kind   outcomeKind
		reason string
		target int // requests that reach target
	}{
		{"allowed host", func(*server) string { return at(target, "rec.example.com", "/r.mp3") }, nil, outcomeStored, "", 1},
		{"allowed wildcard", func(*server) string { return at(target, "A.CDN.example.net.", "/r.mp3") }, nil, outcomeStored, "", 1},
		{"redirect to allowed host", func(o *server) string { return at(o, "rec.example.com", "/") },
			redirectTo(at(target, "a.cdn.example.net", "/r.mp3")), outcomeStored, "", 1},
		{"host not allowed", func(*server) string { return at(target, "evil.example.org", "/r.mp3") }, nil, outcomeDead, ReasonRefused, 0},
		{"suffix is not a subdomain", func(*server) string { return at(target, "cdn.example.net", "/r.mp3") }, nil, outcomeDead, ReasonRefused, 0},
		{"dns rebinding to loopback", func(*server) string { return at(target, "rebind.example.com", "/r.mp3") }, nil, outcomeDead, ReasonRefused, 0},
		{"one private address among public", func(*server) string { return at(target, "mixed.example.com", "/r.mp3") }, nil, outcomeDead, ReasonRefused, 0},
		{"ipv4-mapped private", func(*server) string { return at(target, "mapped.example.com", "/r.mp3") }, nil, outcomeDead, ReasonRefused, 0},
		{"nat64 metadata", func(*server) string { return at(target, "nat64.example.com", "/r.mp3") }, nil, outcomeDead, ReasonRefused, 0},
		{"unique local ipv6", func(*server) string { return at(target, "v6local.example.com", "/r.mp3") }, nil, outcomeDead, ReasonRefused, 0},
		{"loopback literal", func(*server) string { return at(target, "127.0.0.1", "/r.mp3") }, nil, outcomeDead, ReasonRefused, 0},
		{"mapped loopback literal", func(*server) string { return at(target, "::ffff:127.0.0.1", "/r.mp3") }, nil, outcomeDead, ReasonRefused, 0},
		{"metadata literal", func(*server) string { return "http://169.254.169.254/latest/meta-data/" }, nil, outcomeDead, ReasonRefused, 0},
		{"ftp scheme", func(*server) string { return "ftp://rec.example.com/r.mp3" }, nil, outcomeDead, ReasonRefused, 0},
		{"file scheme", func(*server) string { return "file:///etc/passwd" }, nil, outcomeDead, ReasonRefused, 0},
		{"redirect to loopback", func(o *server) string { return at(o, "rec.example.com", "/") },
			redirectTo(at(target, "127.0.0.1", "/r.mp3")), outcomeDead, ReasonRefused, 0},
		{"redirect to rebinding name", func(o *server) string { return at(o, "rec.example.com", "/") },
			redirectTo(at(target, "rebind.example.com", "/r.mp3")), outcomeDead, ReasonRefused, 0},
		{"redirect to metadata", func(o *server) string { return at(o, "rec.example.com", "/") },
			redirectTo("http://169.254.169.254/latest/meta-data/iam/"), outcomeDead, ReasonRefused, 0},
		{"redirect to host not allowed", func(o *server) string { return at(o, "rec.example.com", "/") },
			redirectTo(at(target, "evil.example.org", "/r.mp3")), outcomeDead, ReasonRefused, 0},
		{"redirect to file", func(o *server) string { return at(o, "rec.example.com", "/") },
			redirectTo("file:///etc/passwd"), outcomeDead, ReasonRefused, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := target.count()
			var origin *server
			if tt.origin != nil {
				origin = newServer(t, tt.origin)
			}
			env, res := guardEnv(t, allowed...)
			o := env.fetchOnce(t, urlEvent("c-1", tt.url(origin)+"?token=SECRET"))
			if o.kind != tt.kind || o.reason != tt.reason {
				t.Errorf("outcome = %d %q (%v), want %d %q", o.kind, o.reason, o.err, tt.kind, tt.reason)
			}
			if n := target.count() - before; n != tt.target {
				t.Errorf("requests reaching the target = %d, want %d", n, tt.target)
			}
			if slices.Contains(res.asked, "evil.example.org") {
				t.Errorf("resolved a host that is not allowed: %v", res.asked)
			}
			if o.err != nil && strings.Contains(o.err.Error(), "SECRET") {
				t.Errorf("error %q carries the URL's token", o.err)
			}
		})
	}
}

func TestGuardStopsRedirectLoops(t *testing.T) {
	var loop *server
	loop = newServer(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, at(loop, "rec.example.com", "/again"), http.StatusFound)
	})
	env, _ := guardEnv(t, "rec.example.com")
	o := env.fetchOnce(t, urlEvent("c-1", at(loop, "rec.example.com", "/")))
	if o.kind != outcomeDead || o.reason != ReasonHTTPStatus || !errors.Is(o.err, errTooManyRedirects) {
		t.Errorf("outcome = %d %q (%v), want dead after too many redirects", o.kind, o.reason, o.err)
	}
	if n := loop.count(); n != maxRedirects+1 {
		t.Errorf("requests = %d, want %d", n, maxRedirects+1)
	}
}

// TestAllowPrivateKeepsLinkLocalOut: an on-premises provider may reach
// private addresses, but never the metadata service.
func TestAllowPrivateKeepsLinkLocalOut(t *testing.T) {
	g := newGuard(&stubResolver{})
	for _, addr := range []string{"169.254.169.254:80", "[fe80::1%25eth0]:80", "0.0.0.0:80", "224.0.0.1:80", "[::]:80"} {
		_, err := g.dialContext(context.Background(), true, "tcp", strings.Replace(addr, "%25", "%", 1))
		if !errors.Is(err, errRefused) {
			t.Errorf("dial %s with private allowed: %v, want refused", addr, err)
		}
	}
}

// TestDialerControlChecksTheSocketAddress exercises the second line of
// defence on a real socket: the Control hook refuses loopback unless
// private addresses are allowed.
func TestDialerControlChecksTheSocketAddress(t *testing.T) {
	srv := newServer(t, serveBytes("audio/mpeg", mp3))
	addr := srv.Listener.Addr().String()
	if _, err := dialChecked(context.Background(), false, "tcp", addr); !errors.Is(err, errRefused) {
		t.Errorf("dial %s: %v, want refused", addr, err)
	}
	conn, err := dialChecked(context.Background(), true, "tcp", addr)
	if err != nil {
		t.Fatalf("dial %s with private allowed: %v", addr, err)
	}
	conn.Close()
}

func TestHostPatterns(t *testing.T) {
	tests := []struct {
		pattern string
		host    string
		match   bool
	}{
		{"api.zadarma.com", "api.zadarma.com", true},
		{"API.Zadarma.com.", "api.zadarma.com", true},
		{"api.zadarma.com", "zadarma.com", false},
		{"api.zadarma.com", "api.zadarma.com.evil.org", false},
		{"*.mango-office.ru", "app.mango-office.ru", true},
		{"*.mango-office.ru", "a.b.mango-office.ru", true},
		{"*.mango-office.ru", "mango-office.ru", false},
		{"*.mango-office.ru", "evilmango-office.ru", false},
		{"10.0.0.7", "10.0.0.7", true},
		{"[fd00::7]", "fd00::7", true},
	}
	for _, tt := range tests {
		p, err := parseHostPattern(tt.pattern)
		if err != nil {
			t.Fatalf("parse %q: %v", tt.pattern, err)
		}
		u := &url.URL{Scheme: "https", Host: tt.host}
		if strings.Contains(tt.host, ":") {
			u.Host = "[" + tt.host + "]"
		}
		err = policy{hosts: []hostPattern{p}}.checkURL(u)
		if (err == nil) != tt.match {
			t.Errorf("%q allows %q: %v, want %v", tt.pattern, tt.host, err == nil, tt.match)
		}
	}
}

func TestRefusal(t *testing.T) {
	tests := []struct {
		ip              string
		strict, private bool // allowed without / with AllowPrivate
	}{
		{"203.0.113.10", true, true},
		{"2001:db8::1", true, true},
		{"8.8.8.8", true, true},
		{"127.0.0.1", false, true},
		{"127.1.2.3", false, true},
		{"::1", false, true},
		{"10.1.2.3", false, true},
		{"172.16.0.1", false, true},
		{"172.31.255.255", false, true},
		{"172.32.0.1", true, true},
		{"192.168.0.1", false, true},
		{"100.64.0.1", false, true},
		{"100.127.255.255", false, true},
		{"fd00::1", false, true},
		{"::ffff:10.0.0.1", false, true},
		{"2002:c0a8:0101::1", false, true}, // 6to4 of 192.168.1.1
		{"169.254.169.254", false, false},
		{"fd00:ec2::254", false, false},
		{"fe80::1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.251", false, false},
		{"ff02::1", false, false},
		{"255.255.255.255", false, false},
		{"::ffff:169.254.169.254", false, false},
		{"64:ff9b::a9fe:a9fe", false, false},
	}
	for _, tt := range tests {
		ip := netip.MustParseAddr(tt.ip)
		if got := refusal(ip, false) == ""; got != tt.strict {
			t.Errorf("%s allowed = %v, want %v", tt.ip, got, tt.strict)
		}
		if got := refusal(ip, true) == ""; got != tt.private {
			t.Errorf("%s allowed with AllowPrivate = %v, want %v", tt.ip, got, tt.private)
		}
	}
}

// TestLogsCarryNoSecrets runs failures through a debug logger: URLs may
// hold tokens, events hold phone numbers; neither may be logged.
func TestLogsCarryNoSecrets(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	srv := newServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/404":
			w.WriteHeader(http.StatusNotFound)
		case "/500":
			w.WriteHeader(http.StatusInternalServerError)
		case "/html":
			serveBytes("text/html", []byte("<html>"))(w, r)
		default:
			serveBytes("audio/mpeg", mp3)(w, r)
		}
	})
	env := newEnv(t, func(o *Options) { o.Logger = logger })
	for i, path := range []string{"/404", "/500", "/html", "/ok"} {
		ev := urlEvent(fmt.Sprint("c-", i), srv.URL+path+"?token=SECRET")
		env.fetchOnce(t, ev)
	}
	env.fetchOnce(t, urlEvent("c-9", "http://evil.example.org/r.mp3?token=SECRET"))
	mu.Lock()
	defer mu.Unlock()
	out := buf.String()
	for _, secret := range []string{"SECRET", "token", "79161234567"} {
		if strings.Contains(out, secret) {
			t.Errorf("log contains %q:\n%s", secret, out)
		}
	}
	if !strings.Contains(out, "stored recording") || !strings.Contains(out, "evil.example.org") {
		t.Errorf("log lacks the expected lines:\n%s", out)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
