package report

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/callpulse/callpulse/backoff"
	"github.com/callpulse/callpulse/warehouse"
)

// Exactly once across replicas, on a ClickHouse that has neither
// transactions nor unique keys. docs/report.md ("Exactly once") states the
// guarantee; in short:
//
// The ledger is an append-only log of (day, recipient, token, state) rows.
// An attempt (1) reads the log: if a 'sent' row exists it stops; if
// another live claim exists it waits and reads again; (2) appends a
// 'claim' row with a fresh random token; (3) reads the log again and wins
// only if its own claim is the only live one. A claim is live until a
// 'sent' or 'released' row with its token follows, or until it is older
// than the lease on the server's clock.
//
// Safety needs no clock: of two attempts that both appended a claim, the
// one whose step (3) read came second must see the other's claim, because
// that claim was inserted before the other's read, which came before this
// read. So at most one of them sees itself alone. (This is the classic
// "write your flag, then read the others'" argument; it holds because one
// ClickHouse server makes an acknowledged INSERT visible to every later
// SELECT.) Two attempts that see each other both back off, release their
// claims and try again after a random delay, so one of them soon goes
// first. The lease only frees the claim of a replica that died.

// Ledger is the durable log of delivery attempts; *warehouse.DB implements
// it.
type Ledger interface {
	AddReportMark(ctx context.Context, day, recipient string, m warehouse.ReportMark) error
	ReportMarks(ctx context.Context, day, recipient string) ([]warehouse.ReportMark, error)
	LastReportSent(ctx context.Context) (time.Time, error)
}

// Claim outcomes that mean "do not send"; both are counted as skipped.
var (
	ErrAlreadySent      = errors.New("already sent")
	ErrClaimedElsewhere = errors.New("being sent by another replica")
)

// ClaimOptions tune the claim protocol.
type ClaimOptions struct {
	// Replica names this process in the ledger (for people reading it).
	Replica string
	// Lease is how long a claim without an outcome blocks others (default
	// 1 h). A winner gives up sending at three quarters of it.
	Lease time.Duration
	// Rounds is how often an attempt reads the ledger before it leaves the
	// pair to whoever holds it (default 8); Backoff spaces the rounds
	// (default 250 ms doubling to 5 s, jittered).
	Rounds  int
	Backoff backoff.Policy
}

type claimer struct {
	ledger Ledger
	o      ClaimOptions
	after  func(time.Duration) <-chan time.Time // nil: time.After
}

func newClaimer(l Ledger, o ClaimOptions) *claimer {
	if o.Lease <= 0 {
		o.Lease = time.Hour
	}
	if o.Rounds <= 0 {
		o.Rounds = 8
	}
	if o.Backoff == (backoff.Policy{}) {
		o.Backoff = backoff.Policy{Base: 250 * time.Millisecond, Max: 5 * time.Second}
	}
	return &claimer{ledger: l, o: o}
}

// Claim is the right, won in the ledger, to send one report.
type Claim struct {
	c                   *claimer
	day, recipient      string
	token               string
	deadline            time.Time // local clock: stop trying to send after this
	markedSent, release bool
}

// ledgerState is what the log says about one (day, recipient).
type ledgerState struct {
	sent   bool
	sentAt time.Time
	live   map[string]bool // tokens of live claims
}

func readState(marks []warehouse.ReportMark, lease time.Duration) ledgerState {
	st := ledgerState{live: map[string]bool{}}
	closed := map[string]bool{}
	for _, m := range marks {
		switch m.State {
		case warehouse.ReportSent:
			st.sent = true
			if m.At.After(st.sentAt) {
				st.sentAt = m.At
			}
			closed[m.Token] = true
		case warehouse.ReportReleased:
			closed[m.Token] = true
		}
	}
	for _, m := range marks {
		if m.State == warehouse.ReportClaimed && !closed[m.Token] && m.Age < lease {
			st.live[m.Token] = true
		}
	}
	return st
}

// claim runs the protocol for (day, recipient). With force, an earlier
// 'sent' does not stop it (a deliberate re-send), but a live claim still
// does. It returns the claim, or ErrAlreadySent with the time it was sent,
// or ErrClaimedElsewhere.
func (c *claimer) claim(ctx context.Context, day, recipient string, force bool) (*Claim, time.Time, error) {
	b := backoff.New(c.o.Backoff)
	b.After = c.after
	for round := 0; round < c.o.Rounds; round++ {
		if round > 0 {
			if err := b.Wait(ctx); err != nil {
				return nil, time.Time{}, fmt.Errorf("claim report: %w", err)
			}
		}
		st, err := c.state(ctx, day, recipient)
		if err != nil {
			return nil, time.Time{}, err
		}
		if st.sent && !force {
			return nil, st.sentAt, ErrAlreadySent
		}
		if len(st.live) > 0 {
			continue // someone is on it: wait for its outcome
		}
		token, err := newToken()
		if err != nil {
			return nil, time.Time{}, err
		}
		start := time.Now()
		if err := c.ledger.AddReportMark(ctx, day, recipient, warehouse.ReportMark{
			Token: token, State: warehouse.ReportClaimed, Replica: c.o.Replica}); err != nil {
			return nil, time.Time{}, fmt.Errorf("claim report: %w", err)
		}
		cl := &Claim{c: c, day: day, recipient: recipient, token: token, deadline: start.Add(c.o.Lease * 3 / 4)}
		st, err = c.state(ctx, day, recipient)
		if err != nil {
			cl.Release(ctx)
			return nil, time.Time{}, err
		}
		switch {
		case st.sent && !force:
			cl.Release(ctx)
			return nil, st.sentAt, ErrAlreadySent
		case len(st.live) == 1 && st.live[token]:
			return cl, time.Time{}, nil
		}
		cl.Release(ctx) // a collision: everyone involved backs off
	}
	return nil, time.Time{}, ErrClaimedElsewhere
}

func (c *claimer) state(ctx context.Context, day, recipient string) (ledgerState, error) {
	marks, err := c.ledger.ReportMarks(ctx, day, recipient)
	if err != nil {
		return ledgerState{}, fmt.Errorf("claim report: %w", err)
	}
	return readState(marks, c.o.Lease), nil
}

// Deadline is when the claim's holder must have finished sending, on the
// local clock, to stay within the lease.
func (cl *Claim) Deadline() time.Time { return cl.deadline }

// markTimeout bounds recording an outcome, which runs even after the
// caller's context is cancelled: a delivery that is not recorded would be
// repeated after the lease.
const markTimeout = 30 * time.Second

// Sent records the delivery. It retries for up to markTimeout, ignoring the
// cancellation of ctx.
func (cl *Claim) Sent(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	b := backoff.New(backoff.Policy{Base: 200 * time.Millisecond, Max: 5 * time.Second})
	b.After = cl.c.after
	for {
		err := cl.c.ledger.AddReportMark(ctx, cl.day, cl.recipient, warehouse.ReportMark{
			Token: cl.token, State: warehouse.ReportSent, Replica: cl.c.o.Replica})
		if err == nil {
			cl.markedSent = true
			return nil
		}
		if werr := b.Wait(ctx); werr != nil {
			return fmt.Errorf("record report sent: %w", err)
		}
	}
}

// Release gives the claim up so that another attempt may send; best
// effort (an unreleased claim expires with its lease). Calling it after
// Sent does nothing.
func (cl *Claim) Release(ctx context.Context) {
	if cl.markedSent || cl.release {
		return
	}
	cl.release = true
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), markTimeout)
	defer cancel()
	_ = cl.c.ledger.AddReportMark(ctx, cl.day, cl.recipient, warehouse.ReportMark{
		Token: cl.token, State: warehouse.ReportReleased, Replica: cl.c.o.Replica})
}

func newToken() (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("claim token: %w", err)
	}
	return hex.EncodeToString(b[:]), nil
}
