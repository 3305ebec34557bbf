package asterisk

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/callpulse/callpulse/backoff"
)

// errConnect prefixes every failure to open the WebSocket; errAuth marks
// a handshake Asterisk refused for the credentials.
var (
	errConnect = errors.New("connect to ARI")
	errAuth    = errors.New("credentials refused")
)

// errAppReplaced ends a session whose application was taken over by another
// WebSocket: Asterisk sends it no more events.
var errAppReplaced = errors.New("another ARI client connected with the same app name (use a unique app per callpulse instance)")

// Run connects to ARI and turns its events into call events on the spool
// until ctx is done. Any failure (refused handshake, dropped connection, no
// pong within twice PingInterval) is logged and followed by a reconnect
// after a jittered, capped backoff, which restarts from Options.Backoff.Base
// after a connection that delivered events.
//
// Events are buffered (Options.BufferSize) between the WebSocket and the
// spool; a failed Append is retried with backoff and never dropped. When
// the buffer is full Run stops reading from the WebSocket until the spool
// catches up. Asterisk does not queue events for a slow or absent client,
// so a stall long enough to lose the connection loses the events sent
// meanwhile (see the README).
//
// Run returns nil once ctx is done and the buffered events are stored, or
// DrainTimeout has passed; events still unstored then are logged and counted
// in Stats.Dropped. Stop Run before closing the spool. Run must not be
// called concurrently with itself.
func (s *Source) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("asterisk: Run is already running")
	}
	defer s.running.Store(false)
	droppedBefore := s.stats.dropped.Load()

	buf := make(chan []byte, s.opts.BufferSize)
	wctx, cancelWriter := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelWriter()
	var wg sync.WaitGroup
	wg.Go(func() { s.writeLoop(wctx, buf) })

	s.connectLoop(ctx, buf)
	close(buf)
	drain := time.AfterFunc(s.opts.DrainTimeout, cancelWriter)
	defer drain.Stop()
	wg.Wait()

	if lost := s.stats.dropped.Load() - droppedBefore; lost > 0 {
		s.log.Error("ARI call events not stored at shutdown", "events", lost)
	}
	return nil
}

// connectLoop runs sessions until ctx is done.
func (s *Source) connectLoop(ctx context.Context, buf chan<- []byte) {
	bo := backoff.New(s.opts.Backoff)
	for {
		delivered, err := s.session(ctx, buf)
		if ctx.Err() != nil {
			return
		}
		if delivered && !errors.Is(err, errAppReplaced) {
			bo.Reset()
		}
		switch {
		case errors.Is(err, errAppReplaced):
			s.log.Error("ARI application taken over; reconnecting", "app", s.opts.App, "err", err)
		case errors.Is(err, errAuth):
			s.log.Error("ARI refused the credentials; retrying", "url", s.logURL(), "user", s.opts.User, "err", err)
		case errors.Is(err, errConnect):
			s.log.Warn("cannot connect to ARI; retrying", "url", s.logURL(), "err", err)
		default:
			s.log.Warn("ARI connection lost; reconnecting (events sent meanwhile are lost)", "url", s.logURL(), "err", err)
		}
		if bo.Wait(ctx) != nil {
			return
		}
	}
}

// session runs one WebSocket connection until it fails or ctx is done. It
// reports whether the connection delivered any event.
func (s *Source) session(ctx context.Context, buf chan<- []byte) (delivered bool, err error) {
	conn, err := s.dial(ctx)
	if err != nil {
		s.stats.dialFailures.Add(1)
		return false, err
	}
	s.stats.connections.Add(1)
	s.log.Info("connected to ARI", "url", s.logURL(), "app", s.opts.App)

	stopOnCancel := context.AfterFunc(ctx, func() {
		deadline := time.Now().Add(time.Second)
		_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), deadline)
		_ = conn.Close()
	})
	pingDone := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() { s.keepalive(conn, pingDone) })
	defer func() {
		stopOnCancel()
		close(pingDone)
		_ = conn.Close()
		wg.Wait()
	}()

	wait := 2 * s.opts.PingInterval
	conn.SetReadLimit(MaxFrameBytes)
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	conn.SetPongHandler(func(string) error { return conn.SetReadDeadline(time.Now().Add(wait)) })
	for {
		typ, frame, err := conn.ReadMessage()
		if err != nil {
			if ctx.Err() != nil {
				return delivered, nil
			}
			if ne, ok := errors.AsType[net.Error](err); ok && ne.Timeout() {
				return delivered, fmt.Errorf("read ARI event: nothing, not even a pong, for %v: %w", wait, err)
			}
			return delivered, fmt.Errorf("read ARI event: %w", err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(wait))
		if typ != websocket.TextMessage {
			continue
		}
		delivered = true
		if err := s.handle(ctx, frame, buf); err != nil {
			return delivered, err
		}
	}
}

// handle maps one frame and queues its call events. It returns an error
// only when the session must end.
func (s *Source) handle(ctx context.Context, frame []byte, buf chan<- []byte) error {
	s.stats.frames.Add(1)
	ev, err := decode(frame)
	if err == nil && ev.Type == evAppReplaced {
		return errAppReplaced
	}
	var payloads [][]byte
	if err == nil {
		payloads, err = s.payloads(ev)
	}
	if err != nil {
		s.stats.invalid.Add(1)
		s.log.Warn("skipping ARI event", "type", ev.Type, "err", err)
		return nil
	}
	for _, p := range payloads {
		if err := s.enqueue(ctx, buf, p); err != nil {
			return err
		}
	}
	return nil
}

// payloads maps an event and encodes the call events for the spool.
func (s *Source) payloads(ev event) ([][]byte, error) {
	events, err := s.mapEvent(ev, time.Now())
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, len(events))
	for _, e := range events {
		p, err := e.Marshal()
		if err != nil {
			return nil, fmt.Errorf("encode call event: %w", err)
		}
		out = append(out, p)
	}
	return out, nil
}

// keepalive pings until done; the pong handler extends the read deadline.
func (s *Source) keepalive(conn *websocket.Conn, done <-chan struct{}) {
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	for {
		select {
		case <-done:
			return
		case <-t.C:
			if err := conn.WriteControl(websocket.PingMessage, nil, time.Now().Add(s.opts.PingInterval)); err != nil {
				return // the read side sees the broken connection
			}
		}
	}
}

// dial opens the WebSocket with the configured authentication.
func (s *Source) dial(ctx context.Context) (*websocket.Conn, error) {
	d := *s.opts.Dialer
	if len(d.Subprotocols) == 0 {
		d.Subprotocols = []string{"ari"}
	}
	header := http.Header{}
	if !s.opts.APIKeyInQuery {
		header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(s.opts.User+":"+s.opts.Password)))
	}
	conn, resp, err := d.DialContext(ctx, s.eventsURL(true), header)
	if err != nil {
		if resp != nil {
			if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden {
				return nil, fmt.Errorf("%w: HTTP %d: %w", errConnect, resp.StatusCode, errAuth)
			}
			return nil, fmt.Errorf("%w: HTTP %d", errConnect, resp.StatusCode)
		}
		return nil, fmt.Errorf("%w: %w", errConnect, s.redact(err))
	}
	return conn, nil
}

// eventsURL is ws[s]://host:port[/prefix]/ari/events?app=…&subscribeAll=true
// (spec §4.1), with api_key only if withKey and APIKeyInQuery.
func (s *Source) eventsURL(withKey bool) string {
	u := s.baseURL()
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	}
	u.Path += "/ari/events"
	q := url.Values{"app": {s.opts.App}}
	if !s.opts.DisableSubscribeAll {
		q.Set("subscribeAll", "true")
	}
	if withKey && s.opts.APIKeyInQuery {
		q.Set("api_key", s.opts.User+":"+s.opts.Password)
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// logURL is the events URL without credentials.
func (s *Source) logURL() string { return s.eventsURL(false) }

// baseURL is Options.URL without a trailing slash; Validate checked it.
func (s *Source) baseURL() *url.URL {
	u, _ := url.Parse(s.opts.URL)
	u.Path = strings.TrimSuffix(u.Path, "/")
	u.RawPath = ""
	return u
}

// redact removes the password from an error that might quote the URL.
func (s *Source) redact(err error) error {
	msg := err.Error()
	clean := msg
	for _, secret := range []string{s.opts.Password, url.QueryEscape(s.opts.Password)} {
		clean = strings.ReplaceAll(clean, secret, "REDACTED")
	}
	if clean != msg {
		return errors.New(clean)
	}
	return err
}
