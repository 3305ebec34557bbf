package app

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// overLimitResponse is what a plain-HTTP connection beyond
// max_connections gets before it is closed: a PBX retries a webhook
// answered 503, and Retry-After says when.
var overLimitResponse = func() []byte {
	const body = `{"error":"too many connections; retry later"}`
	return []byte("HTTP/1.1 503 Service Unavailable\r\n" +
		"Content-Type: application/json\r\n" +
		"Retry-After: 1\r\n" +
		"Connection: close\r\n" +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n" +
		"\r\n" + body)
}()

// limitListener accepts at most max connections at once. One more is
// answered 503 and closed at once (only closed under TLS, whose handshake
// has not happened yet), rather than left waiting in the kernel's backlog
// where its sender cannot tell a busy server from a dead one.
type limitListener struct {
	net.Listener
	slots    chan struct{}
	tls      bool
	rejected func() // counts a refused connection
}

func newLimitListener(l net.Listener, max int, tls bool, rejected func()) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, max), tls: tls, rejected: rejected}
}

// Accept returns the next connection within the limit; those beyond it
// are refused here and never reach the server.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		select {
		case l.slots <- struct{}{}:
			return &limitedConn{Conn: c, release: func() { <-l.slots }}, nil
		default:
			l.rejected()
			go refuse(c, !l.tls)
		}
	}
}

// refuse closes c, answering 503 first if answer is set. It reads the
// request's head before answering (HTTP clients drop an answer that
// comes before their request), shuts its side down after the answer, and
// reads what the sender still sends, all within lingerTime and
// lingerBytes: closing with the request unread would reset the
// connection, and a reset can destroy the answer before the sender reads
// it.
func refuse(c net.Conn, answer bool) {
	defer c.Close()
	if !answer {
		return
	}
	_ = c.SetDeadline(time.Now().Add(lingerTime))
	r := io.LimitReader(c, lingerBytes)
	if _, err := http.ReadRequest(bufio.NewReader(r)); err != nil {
		return
	}
	if _, err := c.Write(overLimitResponse); err != nil {
		return
	}
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	_, _ = io.Copy(io.Discard, r)
}

// How long, and how much, a refused connection is read before it closes.
const (
	lingerTime  = time.Second
	lingerBytes = 64 << 10
)

// limitedConn gives its slot back when closed, before the socket closes,
// so that a client that has seen the close can count on the slot.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	c.once.Do(c.release)
	return c.Conn.Close()
}
