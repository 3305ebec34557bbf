package report

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/textproto"
	"syscall"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/callpulse/callpulse/backoff"
)

// TLS modes of the SMTP connection.
const (
	TLSStartTLS = "starttls" // plain connection upgraded with STARTTLS, required (port 587)
	TLSImplicit = "implicit" // TLS from the first byte, "SMTPS" (port 465)
	TLSNone     = "none"     // no encryption: only for a relay on localhost or a test server
)

// SMTPOptions configure the connection to the mail server.
type SMTPOptions struct {
	Host string
	// Port defaults to 587 for starttls, 465 for implicit and 25 for none.
	Port int
	// TLS is starttls (the default), implicit or none.
	TLS string
	// User and Password enable SMTP AUTH (the strongest mechanism the
	// server offers: SCRAM, CRAM-MD5, PLAIN or LOGIN). The password is
	// never logged or put in an error.
	User, Password string
	// TLSConfig overrides the TLS settings (tests use it to trust a test
	// CA); nil verifies the server's certificate against the system roots
	// and Host.
	TLSConfig *tls.Config
	// Timeout bounds each network operation (default 30 s).
	Timeout time.Duration
	// Attempts is how often a message is tried when the errors are
	// transient (default 5); Backoff spaces the attempts (default 2 s
	// doubling to 1 min, jittered).
	Attempts int
	Backoff  backoff.Policy
}

// Validate checks the options.
func (o SMTPOptions) Validate() error {
	if o.Host == "" {
		return errors.New("smtp: host is empty")
	}
	switch o.TLS {
	case "", TLSStartTLS, TLSImplicit, TLSNone:
	default:
		return fmt.Errorf("smtp: tls %q: want starttls, implicit or none", o.TLS)
	}
	if o.Port < 0 || o.Port > 65535 {
		return fmt.Errorf("smtp: port %d out of range", o.Port)
	}
	if o.Password != "" && o.User == "" {
		return errors.New("smtp: password set without user")
	}
	return nil
}

// Sender delivers messages over SMTP, retrying transient failures.
type Sender struct {
	o       SMTPOptions
	metrics *Metrics
	log     *slog.Logger
	// after is the backoff's timer; tests replace it.
	after func(time.Duration) <-chan time.Time
}

// NewSender checks the options and fills defaults.
func NewSender(o SMTPOptions, m *Metrics, log *slog.Logger) (*Sender, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.TLS == "" {
		o.TLS = TLSStartTLS
	}
	if o.Port == 0 {
		o.Port = map[string]int{TLSStartTLS: 587, TLSImplicit: 465, TLSNone: 25}[o.TLS]
	}
	if o.Timeout <= 0 {
		o.Timeout = 30 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 5
	}
	if o.Backoff == (backoff.Policy{}) {
		o.Backoff = backoff.Policy{Base: 2 * time.Second, Max: time.Minute}
	}
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sender{o: o, metrics: m, log: log}, nil
}

// client builds a go-mail client for one connection.
func (s *Sender) client() (*mail.Client, error) {
	opts := []mail.Option{mail.WithPort(s.o.Port), mail.WithTimeout(s.o.Timeout)}
	switch s.o.TLS {
	case TLSImplicit:
		opts = append(opts, mail.WithSSL())
	case TLSNone:
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if s.o.TLSConfig != nil {
		opts = append(opts, mail.WithTLSConfig(s.o.TLSConfig))
	}
	if s.o.User != "" {
		opts = append(opts, mail.WithSMTPAuth(mail.SMTPAuthAutoDiscover),
			mail.WithUsername(s.o.User), mail.WithPassword(s.o.Password))
	}
	c, err := mail.NewClient(s.o.Host, opts...)
	if err != nil {
		return nil, fmt.Errorf("smtp client: %w", err)
	}
	return c, nil
}

// Send delivers msg, trying again after transient errors (4xx replies,
// timeouts, refused or dropped connections) up to the configured attempts.
// A permanent error (5xx, a TLS or authentication failure) is returned at
// once.
func (s *Sender) Send(ctx context.Context, msg *mail.Msg) error {
	c, err := s.client()
	if err != nil {
		return err
	}
	b := backoff.New(s.o.Backoff)
	b.After = s.after
	for attempt := 1; ; attempt++ {
		err = c.DialAndSendWithContext(ctx, msg)
		if err == nil {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("send report: %w", ctx.Err())
		}
		if !Transient(err) || attempt >= s.o.Attempts {
			return fmt.Errorf("send report (attempt %d of %d): %w", attempt, s.o.Attempts, err)
		}
		s.metrics.retries.Inc()
		s.log.Warn("smtp send failed, will retry", "attempt", attempt, "err", err)
		if err := b.Wait(ctx); err != nil {
			return fmt.Errorf("send report: %w", err)
		}
	}
}

// Transient reports whether an SMTP error is worth another attempt: a 4xx
// reply, a timeout, or a connection that was refused, reset or cut short.
func Transient(err error) bool {
	var se *mail.SendError
	if errors.As(err, &se) {
		switch se.Reason {
		case mail.ErrGetSender, mail.ErrGetRcpts, mail.ErrNoUnencoded:
			return false // the message itself is wrong
		}
		// A SendError does not unwrap its causes; without a reply code
		// the connection failed mid-transaction, which is worth a retry.
		return se.IsTemp() || se.ErrorCode() == 0
	}
	var tp *textproto.Error
	if errors.As(err, &tp) {
		return tp.Code >= 400 && tp.Code < 500
	}
	return transientNet(err)
}

func transientNet(err error) bool {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return true
	}
	return errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}
