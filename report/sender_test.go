package report

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// scriptedSMTP is a minimal SMTP server that answers each message's DATA
// with the next reply of a script (then 250), to test retries.
type scriptedSMTP struct {
	mu      sync.Mutex
	replies []string // replies to DATA's end, in order; "" means 250
	got     int      // messages accepted
	tries   int      // DATA attempts
}

func (s *scriptedSMTP) start(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go s.serve(c)
		}
	}()
	return l.Addr().(*net.TCPAddr).Port
}

func (s *scriptedSMTP) serve(c net.Conn) {
	defer c.Close()
	r := bufio.NewReader(c)
	say := func(line string) { fmt.Fprintf(c, "%s\r\n", line) }
	say("220 test ESMTP")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		cmd := strings.ToUpper(strings.TrimSpace(line))
		switch {
		case strings.HasPrefix(cmd, "EHLO"), strings.HasPrefix(cmd, "HELO"):
			say("250 test")
		case strings.HasPrefix(cmd, "DATA"):
			say("354 go ahead")
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
			}
			s.mu.Lock()
			reply := ""
			if s.tries < len(s.replies) {
				reply = s.replies[s.tries]
			}
			s.tries++
			if reply == "" {
				s.got++
				reply = "250 queued"
			}
			s.mu.Unlock()
			say(reply)
		case strings.HasPrefix(cmd, "QUIT"):
			say("221 bye")
			return
		default: // MAIL, RCPT, RSET, NOOP
			say("250 ok")
		}
	}
}

func TestSenderRetries(t *testing.T) {
	r, err := Render(mustBuild(t), Russian)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := Compose(r, "reports@example.test", "boss@example.test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		replies   []string
		wantErr   bool
		delivered int
		retries   float64
	}{
		{"accepted at once", nil, false, 1, 0},
		{"4xx twice, then accepted", []string{"451 4.3.0 try later", "452 4.3.1 full"}, false, 1, 2},
		{"5xx is not retried", []string{"554 5.7.1 rejected"}, true, 0, 0},
		{"4xx until attempts run out", []string{"451 a", "451 b", "451 c"}, true, 0, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := &scriptedSMTP{replies: tt.replies}
			port := srv.start(t)
			m := NewMetrics(nil)
			s, err := NewSender(SMTPOptions{Host: "127.0.0.1", Port: port, TLS: TLSNone, Attempts: 3}, m, nil)
			if err != nil {
				t.Fatal(err)
			}
			s.after = instant
			err = s.Send(context.Background(), msg)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Send: %v, want error %v", err, tt.wantErr)
			}
			srv.mu.Lock()
			defer srv.mu.Unlock()
			if srv.got != tt.delivered {
				t.Errorf("delivered %d, want %d", srv.got, tt.delivered)
			}
			if got := counterValue(t, m.retries); got != tt.retries {
				t.Errorf("retries %v, want %v", got, tt.retries)
			}
		})
	}
}

func TestTransient(t *testing.T) {
	if !Transient(&net.OpError{Op: "dial", Err: errTimeout{}}) {
		t.Error("a timeout is not transient")
	}
	if Transient(fmt.Errorf("x509: certificate signed by unknown authority")) {
		t.Error("a TLS failure is transient")
	}
}

type errTimeout struct{}

func (errTimeout) Error() string   { return "i/o timeout" }
func (errTimeout) Timeout() bool   { return true }
func (errTimeout) Temporary() bool { return true }
