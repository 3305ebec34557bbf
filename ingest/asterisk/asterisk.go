// Package asterisk is callpulse's Asterisk source. Unlike the webhook
// providers it is a client: it keeps a WebSocket open to the Asterisk REST
// Interface (ARI) at {URL}/ari/events, folds channel events into calls by
// linkedid and hands the resulting partial call.Events to the spool.
//
// Every ARI event is mapped on its own, without remembering earlier events
// (except the channel-to-call index used to place recordings), so events
// that arrive twice or out of order fold into the same call (see call.Fold).
// ARI does not replay events missed while the WebSocket was down; see the
// README for what that means for calls in progress during a disconnect.
package asterisk

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/callpulse/callpulse/backoff"
)

// Name is the provider name in call events.
const Name = "asterisk"

// Defaults for zero Options fields.
const (
	DefaultLinkedIDVariable   = "CHANNEL(linkedid)"
	DefaultMaxExtensionDigits = 6
	DefaultBufferSize         = 1024
	DefaultPingInterval       = 20 * time.Second
	DefaultDrainTimeout       = 5 * time.Second
	DefaultHandshakeTimeout   = 10 * time.Second
)

// Normalizer turns a phone number into E.164; phone.Normalizer satisfies it.
type Normalizer interface {
	Normalize(string) (string, error)
}

// Appender is the spool: Append returns once the payloads are durable. An
// error means none of them was acknowledged and the call may be retried.
type Appender interface {
	Append(ctx context.Context, payloads ...[]byte) (uint64, error)
}

// Options configures a Source. URL, App, User, Password, Normalizer and
// Appender are required; zero values of the rest take the defaults above.
type Options struct {
	// URL is Asterisk's HTTP server, http(s)://host:8088 (ws and wss are
	// accepted too). A path prefix, for Asterisk behind a reverse proxy, is
	// kept in front of /ari/events.
	URL string
	// App is the Stasis application name(s) to connect as, comma-separated.
	// Use a name no other ARI client uses: Asterisk hands an application to
	// the last WebSocket that connected with it.
	App string
	// User and Password are an ari.conf user (read_only = yes suffices).
	// Password comes from CALLPULSE_ASTERISK_PASSWORD.
	User     string
	Password string
	// APIKeyInQuery sends the credentials as ?api_key=user:pass instead of
	// HTTP Basic auth. Both are accepted by Asterisk; Basic keeps the
	// password out of URLs and proxy access logs, so it is the default.
	APIKeyInQuery bool
	// DisableSubscribeAll omits subscribeAll=true. Then only channels the
	// dialplan sends to Stasis(App) produce events.
	DisableSubscribeAll bool

	// InboundContexts and OutboundContexts are dialplan contexts where
	// calls from the trunk and from managers' phones enter the dialplan
	// (e.g. from-trunk / from-internal). When the call's first channel is
	// in neither, the default rule applies: if that channel's endpoint or
	// caller number is an internal extension the call is outbound,
	// otherwise inbound.
	InboundContexts  []string
	OutboundContexts []string
	// MaxExtensionDigits: numbers of 1..MaxExtensionDigits digits are
	// internal extensions, longer ones are phone numbers.
	MaxExtensionDigits int
	// LinkedIDVariable is the channel variable, listed in ari.conf
	// "channelvars", that carries the call's linkedid.
	LinkedIDVariable string

	Normalizer Normalizer
	Appender   Appender
	Logger     *slog.Logger // nil means slog.Default()
	// Backoff paces reconnects and spool retries.
	Backoff backoff.Policy
	// Dialer opens the WebSocket; nil means a default dialer with
	// DefaultHandshakeTimeout. Tests inject one.
	Dialer *websocket.Dialer
	// BufferSize bounds the events read from ARI but not yet durable. When
	// it is full the source stops reading from the WebSocket.
	BufferSize int
	// PingInterval is how often a ping is sent; a connection that delivers
	// nothing (not even a pong) for twice as long is considered dead.
	PingInterval time.Duration
	// DrainTimeout bounds how long Run keeps trying to store buffered
	// events after its context is done.
	DrainTimeout time.Duration
}

// Validate reports the first missing or malformed option. It never echoes
// the password.
func (o Options) Validate() error {
	if o.URL == "" {
		return errors.New("asterisk: empty URL (want http(s)://host:8088)")
	}
	u, err := url.Parse(o.URL)
	if err != nil {
		return errors.New("asterisk: URL is not a valid URL")
	}
	switch u.Scheme {
	case "http", "https", "ws", "wss":
	default:
		return fmt.Errorf("asterisk: URL scheme %q: want http, https, ws or wss", u.Scheme)
	}
	switch {
	case u.Host == "":
		return errors.New("asterisk: URL has no host")
	case u.User != nil:
		return errors.New("asterisk: URL must not contain credentials; set user and password")
	case u.RawQuery != "" || u.Fragment != "":
		return errors.New("asterisk: URL must not have a query or fragment")
	case strings.TrimSpace(o.App) == "":
		return errors.New("asterisk: empty app (the Stasis application name)")
	case o.User == "":
		return errors.New("asterisk: empty user (an ari.conf user)")
	case strings.Contains(o.User, ":"):
		return errors.New("asterisk: user must not contain ':'")
	case o.Password == "":
		return errors.New("asterisk: empty password (set CALLPULSE_ASTERISK_PASSWORD)")
	case o.Normalizer == nil:
		return errors.New("asterisk: no phone normalizer")
	case o.Appender == nil:
		return errors.New("asterisk: no appender (spool)")
	case o.MaxExtensionDigits < 0 || o.BufferSize < 0 || o.PingInterval < 0 || o.DrainTimeout < 0:
		return errors.New("asterisk: negative max extension digits, buffer size, ping interval or drain timeout")
	}
	return nil
}

func (o Options) withDefaults() Options {
	if o.MaxExtensionDigits == 0 {
		o.MaxExtensionDigits = DefaultMaxExtensionDigits
	}
	if o.LinkedIDVariable == "" {
		o.LinkedIDVariable = DefaultLinkedIDVariable
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.BufferSize == 0 {
		o.BufferSize = DefaultBufferSize
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.DrainTimeout == 0 {
		o.DrainTimeout = DefaultDrainTimeout
	}
	if o.Dialer == nil {
		o.Dialer = &websocket.Dialer{HandshakeTimeout: DefaultHandshakeTimeout}
	}
	return o
}

// Source is the ARI event source. Create it with New and start it with Run.
type Source struct {
	opts     Options
	log      *slog.Logger
	inbound  map[string]bool
	outbound map[string]bool
	index    *callIndex
	running  atomic.Bool
	stats    counters
}

// New validates opts and returns a Source. It does not connect; Run does.
func New(opts Options) (*Source, error) {
	if err := opts.Validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	return &Source{
		opts:     opts,
		log:      opts.Logger.With("provider", Name),
		inbound:  set(opts.InboundContexts),
		outbound: set(opts.OutboundContexts),
		index:    newCallIndex(indexSize),
	}, nil
}

func set(items []string) map[string]bool {
	m := make(map[string]bool, len(items))
	for _, s := range items {
		m[s] = true
	}
	return m
}

// Stats is a snapshot of the source's counters since New.
type Stats struct {
	Connections   uint64 // WebSocket handshakes that succeeded
	DialFailures  uint64 // connection attempts that failed (incl. 401)
	Frames        uint64 // ARI events received
	Invalid       uint64 // frames that could not be decoded
	Appended      uint64 // call events made durable
	AppendRetries uint64 // failed Append calls that were retried
	Dropped       uint64 // call events given up at shutdown
	Buffered      int    // call events waiting for the spool now
}

type counters struct {
	connections, dialFailures, frames, invalid atomic.Uint64
	appended, appendRetries, dropped           atomic.Uint64
	buffered                                   atomic.Int64
}

// Stats returns the current counters. It is safe to call concurrently.
func (s *Source) Stats() Stats {
	c := &s.stats
	return Stats{
		Connections:   c.connections.Load(),
		DialFailures:  c.dialFailures.Load(),
		Frames:        c.frames.Load(),
		Invalid:       c.invalid.Load(),
		Appended:      c.appended.Load(),
		AppendRetries: c.appendRetries.Load(),
		Dropped:       c.dropped.Load(),
		Buffered:      int(c.buffered.Load()),
	}
}
