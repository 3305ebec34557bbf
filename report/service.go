package report

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/mail"
	"path/filepath"
	"strings"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Recipient is an address and the scope of the report it gets.
type Recipient struct {
	Email string
	// Manager, if set, is a configured manager id: the recipient gets that
	// manager's own numbers. Empty: the whole team's.
	Manager string
}

// Options configure a Service.
type Options struct {
	Builder  *Builder // required
	Language string   // ru (default) or en
	// From is the sender, "Name <addr>" or addr.
	From       string
	Recipients []Recipient
	// Sender and Ledger are required to send; a dry run needs neither.
	Sender *Sender
	Ledger Ledger
	Claim  ClaimOptions
	// Metrics may be nil (counted, not exported).
	Metrics *Metrics
	Logger  *slog.Logger
	// Now stamps the messages' Date; nil means time.Now.
	Now func() time.Time
}

// Validate checks the options that do not depend on other parts.
func (o Options) Validate() error {
	var errs []error
	if o.Builder == nil {
		errs = append(errs, errors.New("report: builder is required"))
	}
	if o.Language != "" && !ValidLanguage(o.Language) {
		errs = append(errs, fmt.Errorf("report: language %q: want ru or en", o.Language))
	}
	if _, err := mail.ParseAddress(o.From); err != nil {
		errs = append(errs, fmt.Errorf("report: from %q: %w", o.From, err))
	}
	seen := map[string]bool{}
	for i, r := range o.Recipients {
		addr, err := normalAddress(r.Email)
		if err != nil {
			errs = append(errs, fmt.Errorf("report: recipients[%d]: %w", i, err))
			continue
		}
		if seen[addr] {
			errs = append(errs, fmt.Errorf("report: recipients[%d]: %s listed twice", i, addr))
		}
		seen[addr] = true
		if r.Manager != "" && o.Builder != nil {
			if m, ok := o.Builder.o.Team.Lookup(r.Manager); !ok || m.ID != r.Manager {
				errs = append(errs, fmt.Errorf("report: recipients[%d]: manager %q is not a configured manager id", i, r.Manager))
			}
		}
	}
	return errors.Join(errs...)
}

// Service builds and delivers the report to each recipient, once.
type Service struct {
	o       Options
	claims  *claimer
	metrics *Metrics
	log     *slog.Logger
}

// New checks the options and returns a Service.
func New(o Options) (*Service, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	if o.Language == "" {
		o.Language = Russian
	}
	if o.Metrics == nil {
		o.Metrics = NewMetrics(nil)
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, metrics: o.Metrics, log: o.Logger}
	if o.Ledger != nil {
		s.claims = newClaimer(o.Ledger, o.Claim)
	}
	return s, nil
}

// Location is the time zone of the report's days.
func (s *Service) Location() *time.Location { return s.o.Builder.Location() }

// RunOptions vary one run.
type RunOptions struct {
	// To replaces the configured recipients; an address that is configured
	// keeps its scope, any other gets the team's report.
	To []string
	// Force sends even if the ledger says the report was sent.
	Force bool
	// DryRunDir, if set, writes each message's files into
	// DryRunDir/<address>/ instead of sending; the ledger is not touched.
	DryRunDir string
}

// Result is what happened to one recipient's message.
type Result struct {
	Recipient string
	Result    string // sent, failed, skipped, or "written" for a dry run
	Reason    string // why it was skipped
	Files     []string
	Err       error
}

// ResultWritten is the result of a dry run's message.
const ResultWritten = "written"

// Run builds and delivers the report of one calendar day (any instant in
// it, in the report's zone) to every recipient. Recipients are handled one
// by one; a failure does not stop the others. The error joins every
// recipient's failure.
func (s *Service) Run(ctx context.Context, day time.Time, o RunOptions) ([]Result, error) {
	recipients, err := s.recipients(o.To)
	if err != nil {
		return nil, err
	}
	if o.DryRunDir == "" && (s.o.Sender == nil || s.claims == nil) {
		return nil, errors.New("report: sending needs an SMTP sender and a ledger; use a dry run to write files")
	}
	built := map[Scope]*Rendered{}
	var results []Result
	var errs []error
	for _, r := range recipients {
		res := s.deliver(ctx, day, r, o, built)
		if res.Err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", res.Recipient, res.Err))
		}
		results = append(results, res)
	}
	return results, errors.Join(errs...)
}

// deliver handles one recipient: claim, build (once per scope), send,
// record.
func (s *Service) deliver(ctx context.Context, day time.Time, r Recipient, o RunOptions, built map[Scope]*Rendered) Result {
	date := day.In(s.Location()).Format(time.DateOnly)
	res := Result{Recipient: r.Email}
	log := s.log.With("day", date, "recipient", r.Email)
	render := func() (*Rendered, error) {
		scope := Scope{Manager: r.Manager}
		if out := built[scope]; out != nil {
			return out, nil
		}
		rep, err := s.o.Builder.Build(ctx, day, scope)
		if err != nil {
			return nil, err
		}
		out, err := Render(rep, s.o.Language)
		if err != nil {
			return nil, err
		}
		built[scope] = out
		return out, nil
	}
	if o.DryRunDir != "" {
		res.Result = ResultWritten
		out, err := render()
		var msg *gomail.Msg
		if err == nil {
			msg, err = s.compose(out, r)
		}
		if err == nil {
			res.Files, err = WriteFiles(filepath.Join(o.DryRunDir, r.Email), out, msg)
		}
		if err != nil {
			res.Result, res.Err = ResultFailed, err
		}
		return res
	}

	claim, sentAt, err := s.claims.claim(ctx, date, r.Email, o.Force)
	switch {
	case errors.Is(err, ErrAlreadySent), errors.Is(err, ErrClaimedElsewhere):
		s.metrics.count(ResultSkipped)
		s.metrics.succeeded(sentAt)
		log.Info("report not sent", "reason", err)
		return Result{Recipient: r.Email, Result: ResultSkipped, Reason: err.Error()}
	case err != nil:
		return s.failed(log, res, nil, err)
	}
	out, err := render()
	if err != nil {
		return s.failed(log, res, claim, err)
	}
	msg, err := s.compose(out, r)
	if err != nil {
		return s.failed(log, res, claim, err)
	}
	sendCtx, cancel := context.WithDeadline(ctx, claim.Deadline())
	err = s.o.Sender.Send(sendCtx, msg)
	cancel()
	if err != nil {
		return s.failed(log, res, claim, err)
	}
	if err := claim.Sent(ctx); err != nil {
		// Delivered but not recorded: after the lease another attempt
		// may send it again. Counted as sent; logged loudly.
		log.Error("report sent but not recorded; it may be sent again after the lease", "err", err)
	}
	s.metrics.count(ResultSent)
	s.metrics.succeeded(s.o.Now())
	log.Info("report sent", "subject", out.Subject)
	res.Result = ResultSent
	return res
}

func (s *Service) failed(log *slog.Logger, res Result, claim *Claim, err error) Result {
	if claim != nil {
		claim.Release(context.Background())
	}
	s.metrics.count(ResultFailed)
	log.Error("report failed", "err", err)
	res.Result, res.Err = ResultFailed, err
	return res
}

func (s *Service) compose(out *Rendered, r Recipient) (*gomail.Msg, error) {
	return Compose(out, s.o.From, r.Email, s.o.Now())
}

// recipients are the configured recipients, or the To override with the
// configured scope of each address that has one.
func (s *Service) recipients(to []string) ([]Recipient, error) {
	configured := make(map[string]Recipient, len(s.o.Recipients))
	var all []Recipient
	for _, r := range s.o.Recipients {
		addr, _ := normalAddress(r.Email) // checked by Validate
		r.Email = addr
		configured[addr] = r
		all = append(all, r)
	}
	if len(to) == 0 {
		if len(all) == 0 {
			return nil, errors.New("report: no recipients configured")
		}
		return all, nil
	}
	var out []Recipient
	for _, t := range to {
		addr, err := normalAddress(t)
		if err != nil {
			return nil, fmt.Errorf("report: --to: %w", err)
		}
		r, ok := configured[addr]
		if !ok {
			r = Recipient{Email: addr}
		}
		out = append(out, r)
	}
	return out, nil
}

// LoadLastSuccess sets the last-success gauge from the ledger, so that it
// survives restarts and counts other replicas' deliveries.
func (s *Service) LoadLastSuccess(ctx context.Context) error {
	if s.o.Ledger == nil {
		return nil
	}
	t, err := s.o.Ledger.LastReportSent(ctx)
	if err != nil {
		return err
	}
	s.metrics.succeeded(t)
	return nil
}

// normalAddress is the bare, lower-cased address of an RFC 5322 address:
// the ledger's key and the directory name of a dry run.
func normalAddress(s string) (string, error) {
	a, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("address %q: %w", s, err)
	}
	addr := strings.ToLower(a.Address)
	if strings.ContainsAny(addr, `/\`) || strings.HasPrefix(addr, ".") {
		return "", fmt.Errorf("address %q: unsupported characters", s)
	}
	return addr, nil
}
