package simulate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"time"
)

// DefaultRate is the live rate, in calls per second, when Options.Rate is 0.
const DefaultRate = 0.5

// Options configure Run.
type Options struct {
	// URL is the callpulse base URL, e.g. http://127.0.0.1:8080.
	URL string
	// Token is the bearer token of the generic webhook.
	Token string
	// Seed makes the traffic reproducible: the same Seed, start time and
	// options produce the same calls.
	Seed int64
	// Managers are the managers' PBX extensions, e.g. 101 to 105. Their order
	// matters: the first is on target, the second spends too much time on C
	// clients, the third on B.
	Managers []string
	// Lines are our line numbers in E.164 form, each mapped to an ad source in
	// the callpulse configuration.
	Lines []string
	// Clients are the known clients (see Clients). About 15% of calls come
	// from new numbers instead, and all of them do if Clients is empty.
	Clients []Client
	// Rate is how many calls per second start in real time after the
	// backfill; 0 means DefaultRate.
	Rate float64
	// Backfill is how much past traffic to replay, as fast as callpulse
	// accepts it, before going live: e.g. the time since the start of today,
	// so that the dashboards have numbers at once.
	Backfill time.Duration
	// Calls stops the simulation after this many calls, once all of them have
	// been reported; 0 runs until ctx is done. Live calls are reported when
	// they end, so Run waits for the last ones, up to half an hour; a
	// benchmark that must not wait gets its calls from Backfill.
	Calls int
	// Location is the PBX's time zone: timestamps carry its offset and
	// business hours are its local hours. Nil means time.Local.
	Location *time.Location
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Sleep waits for d or until ctx is done, returning ctx.Err() in that
	// case. All waiting goes through it; nil means a timer.
	Sleep func(ctx context.Context, d time.Duration) error
	// HTTP is the client used for posts; nil means one with a 10 s timeout.
	HTTP *http.Client
	// Logger receives progress at info, each call at debug, retries at warn
	// and rejected posts at error. Phone numbers are never logged. Nil means
	// slog.Default().
	Logger *slog.Logger
	// RecordingBaseURL is where the simulated PBX serves recordings
	// (RecordingServer); recording_url is RecordingBaseURL/rec/<call id>.wav.
	// Empty: https://pbx.example, which nothing serves.
	RecordingBaseURL string
	// Touches are posted to {URL}/api/v1/touches with APIToken before the
	// calls (see Touches): the site's and CRM's tracked actions that score
	// the leads of the call queue. Re-posting them stores nothing new.
	Touches  []Touch
	APIToken string
}

// Stats count what a run did.
type Stats struct {
	Calls      int64 // calls started, call-backs included
	Callbacks  int64 // missed calls returned by the manager
	OutOfOrder int64 // calls planned with their final snapshot delivered first
	Snapshots  int64 // snapshots accepted by callpulse, duplicates included
	Touches    int64 // touches accepted by callpulse
	Posts      int64 // requests accepted with a 2xx, duplicates included
	Duplicates int64 // requests deliberately sent a second time
	Retried    int64 // attempts repeated after a 503, 5xx or transport error
	Rejected   int64 // requests refused with a 4xx: a bug in the simulator
	Dropped    int64 // requests given up on after too many failed attempts
}

// String summarises the stats for logs and the command line.
func (s Stats) String() string {
	return fmt.Sprintf("%d calls (%d called back, %d out of order), %d snapshots and %d touches in %d posts (%d duplicates), %d retried, %d rejected, %d dropped",
		s.Calls, s.Callbacks, s.OutOfOrder, s.Snapshots, s.Touches, s.Posts, s.Duplicates, s.Retried, s.Rejected, s.Dropped)
}

// LogValue logs the stats as a group.
func (s Stats) LogValue() slog.Value {
	return slog.GroupValue(
		slog.Int64("calls", s.Calls),
		slog.Int64("callbacks", s.Callbacks),
		slog.Int64("out_of_order", s.OutOfOrder),
		slog.Int64("snapshots", s.Snapshots),
		slog.Int64("touches", s.Touches),
		slog.Int64("posts", s.Posts),
		slog.Int64("duplicates", s.Duplicates),
		slog.Int64("retried", s.Retried),
		slog.Int64("rejected", s.Rejected),
		slog.Int64("dropped", s.Dropped),
	)
}

// Run simulates PBX traffic into callpulse's generic webhook: first
// opts.Backfill of past calls, replayed at once, then live calls at opts.Rate
// per second. It returns when opts.Calls calls have been started and all
// their snapshots delivered, or when ctx is done. Cancellation is how an
// open-ended simulation ends, so it is not an error: Run then returns the
// stats so far and a nil error. An error means the options are invalid.
func Run(ctx context.Context, opts Options) (Stats, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return Stats{}, err
	}
	return newSimulation(o).run(ctx), nil
}

// withDefaults validates the options and fills in the defaults.
func (o Options) withDefaults() (Options, error) {
	var errs []error
	if u, err := url.Parse(o.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, fmt.Errorf("URL %q: want an absolute http or https URL", o.URL))
	}
	if o.Token == "" {
		errs = append(errs, errors.New("token is empty"))
	}
	if len(o.Managers) == 0 {
		errs = append(errs, errors.New("no managers"))
	}
	if len(o.Lines) == 0 {
		errs = append(errs, errors.New("no lines"))
	}
	if o.Rate < 0 || math.IsNaN(o.Rate) || math.IsInf(o.Rate, 0) {
		errs = append(errs, fmt.Errorf("rate %v: want a positive number of calls per second", o.Rate))
	}
	if o.Backfill < 0 {
		errs = append(errs, fmt.Errorf("backfill %v is negative", o.Backfill))
	}
	if o.Calls < 0 {
		errs = append(errs, fmt.Errorf("calls %d is negative", o.Calls))
	}
	if len(o.Touches) > 0 && o.APIToken == "" {
		errs = append(errs, errors.New("touches to post but the API token is empty"))
	}
	if err := errors.Join(errs...); err != nil {
		return Options{}, fmt.Errorf("simulate: %w", err)
	}

	if o.Rate == 0 {
		o.Rate = DefaultRate
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Sleep == nil {
		o.Sleep = sleep
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 10 * time.Second}
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o, nil
}

// sleep waits for d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
