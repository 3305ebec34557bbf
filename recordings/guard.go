package recordings

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// maxRedirects bounds the redirects one download may follow.
const maxRedirects = 5

// errRefused marks a request the guard refused: a scheme other than http or
// https, a host not allowed for the provider, or an address that is not
// public. Such a fetch fails permanently.
var errRefused = errors.New("destination refused")

// errTooManyRedirects fails a fetch permanently.
var errTooManyRedirects = errors.New("too many redirects")

// refusedError says which host was refused and why; it never carries the
// URL's path or query, which may hold a token.
type refusedError struct{ host, why string }

func (e *refusedError) Error() string        { return fmt.Sprintf("refused %s: %s", e.host, e.why) }
func (e *refusedError) Is(target error) bool { return target == errRefused }

// hostPattern is one entry of Options.AllowedHosts.
type hostPattern struct {
	exact  string // lower-case host name or canonical IP address
	suffix string // ".example.com" for "*.example.com"
}

func parseHostPattern(s string) (hostPattern, error) {
	h := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), ".")
	if rest, ok := strings.CutPrefix(h, "*."); ok {
		if err := checkHostName(rest); err != nil || !strings.Contains(rest, ".") {
			return hostPattern{}, fmt.Errorf("host pattern %q: want *.domain.tld", s)
		}
		return hostPattern{suffix: "." + rest}, nil
	}
	if ip, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		return hostPattern{exact: ip.String()}, nil
	}
	if err := checkHostName(h); err != nil {
		return hostPattern{}, fmt.Errorf("host pattern %q: %w", s, err)
	}
	return hostPattern{exact: h}, nil
}

// checkHostName accepts letters, digits, '-', '_' and dots, nothing else: no
// scheme, port, path or wildcard.
func checkHostName(h string) error {
	if h == "" {
		return errors.New("empty host")
	}
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("want a host name or IP address, or *.domain (found %q)", r)
		}
	}
	return nil
}

func (p hostPattern) matches(host string) bool {
	if p.suffix != "" {
		return strings.HasSuffix(host, p.suffix)
	}
	return host == p.exact
}

// policy is what one provider may fetch.
type policy struct {
	hosts        []hostPattern
	allowPrivate bool
}

// checkURL refuses URLs that are not http(s) or whose host is not allowed.
func (p policy) checkURL(u *url.URL) error {
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if ip, err := netip.ParseAddr(host); err == nil {
		host = ip.WithZone("").String()
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return &refusedError{host: host, why: fmt.Sprintf("scheme %q is not http or https", u.Scheme)}
	}
	for _, h := range p.hosts {
		if h.matches(host) {
			return nil
		}
	}
	return &refusedError{host: host, why: "host is not in the provider's allowed hosts"}
}

// guard builds HTTP clients that reach only allowed destinations. The host
// is checked for every request and redirect before anything is sent; the
// resolved address is checked at dial time, right before connecting to
// exactly that address, so DNS rebinding cannot slip a private address in.
type guard struct {
	resolver Resolver
	// dial connects to a literal IP:port that passed the check. Tests
	// replace it to reach httptest servers behind public test addresses.
	dial func(ctx context.Context, allowPrivate bool, network, addr string) (net.Conn, error)

	strict, private *http.Transport // connection pools for the two address policies
}

func newGuard(r Resolver) *guard {
	if r == nil {
		r = net.DefaultResolver
	}
	g := &guard{resolver: r, dial: dialChecked}
	g.strict, g.private = g.transport(false), g.transport(true)
	return g
}

// client returns the HTTP client for one provider's policy.
func (g *guard) client(p policy) *http.Client {
	next := g.strict
	if p.allowPrivate {
		next = g.private
	}
	return &http.Client{
		Transport: &guardedTransport{policy: p, next: next},
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) > maxRedirects {
				return fmt.Errorf("stopped after %d redirects: %w", maxRedirects, errTooManyRedirects)
			}
			return p.checkURL(req.URL)
		},
	}
}

func (g *guard) transport(allowPrivate bool) *http.Transport {
	return &http.Transport{
		Proxy: nil, // a proxy would dial for us, past the address check
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			return g.dialContext(ctx, allowPrivate, network, addr)
		},
		ForceAttemptHTTP2:      true,
		TLSHandshakeTimeout:    10 * time.Second,
		ResponseHeaderTimeout:  time.Minute,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConnsPerHost:    2,
		MaxResponseHeaderBytes: 64 << 10,
	}
}

// dialContext resolves addr's host, refuses it if any of its addresses is
// not allowed, and otherwise dials the checked addresses in turn.
func (g *guard) dialContext(ctx context.Context, allowPrivate bool, network, addr string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", network, err)
	}
	ips, err := g.lookup(ctx, network, host)
	if err != nil {
		return nil, err
	}
	for _, ip := range ips {
		if why := refusal(ip, allowPrivate); why != "" {
			return nil, &refusedError{host: host, why: ip.String() + " is a " + why}
		}
	}
	var errs []error
	for _, ip := range ips {
		conn, err := g.dial(ctx, allowPrivate, network, net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func (g *guard) lookup(ctx context.Context, network, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip}, nil
	}
	family := "ip"
	switch network {
	case "tcp4":
		family = "ip4"
	case "tcp6":
		family = "ip6"
	}
	ips, err := g.resolver.LookupNetIP(ctx, family, host)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("resolve %s: no addresses", host)
	}
	return ips, nil
}

// dialChecked connects to a literal address, checking it once more on the
// socket itself (net.Dialer.Control) as a second line of defence.
func dialChecked(ctx context.Context, allowPrivate bool, network, addr string) (net.Conn, error) {
	d := net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
		Control: func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("dial %s: %w", address, err)
			}
			if why := refusal(ap.Addr(), allowPrivate); why != "" {
				return &refusedError{host: ap.Addr().String(), why: "socket address is a " + why}
			}
			return nil
		},
	}
	return d.DialContext(ctx, network, addr)
}

// guardedTransport checks every request against the provider's policy
// before it is sent, whoever built it: a Locator, the fetcher, or the
// client following a redirect.
type guardedTransport struct {
	policy policy
	next   http.RoundTripper
}

func (t *guardedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if err := t.policy.checkURL(req.URL); err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	return t.next.RoundTrip(req)
}

// redactURLs removes path and query from the URL quoted in err (net/http
// wraps transport errors in *url.Error with the full URL, which may carry a
// token), so that err can be logged and stored. Call it before wrapping
// err: a wrapping fmt.Errorf copies the text as it is then.
func redactURLs(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		ue.URL = hostOnly(ue.URL)
	}
	return err
}

// urlHost is the host (and port) of a URL, for logs.
func urlHost(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Host
}

// hostOnly reduces a URL to scheme://host/… for logs.
func hostOnly(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return "(unparsable URL)"
	}
	return u.Scheme + "://" + u.Host + "/…"
}
