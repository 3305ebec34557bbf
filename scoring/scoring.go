// Package scoring scores leads by their tracked actions (touches), learns
// the score threshold from the leads that converted, and lists the call
// queue: the open leads, hottest first. It also accepts touches over HTTP
// (POST /api/v1/touches) and serves the queue (GET /api/v1/queue).
//
// The definitions, which docs/api.md repeats for users:
//
//   - A touch is one tracked action (site_visit, pricing_page...) of a lead
//     at a time, identified by its touch_id or, without one, by its content
//     (warehouse.Touch.Key); a touch sent twice counts once, and one
//     re-sent with the same touch_id and other content replaces it.
//   - A lead is an E.164 phone: the phone of a touch, or, for a touch that
//     gives only a lead_id, the phone of the deal with that id (any origin;
//     if several origins have it, the most recently updated deal). A
//     lead_id that names no deal is a lead of its own, without a phone,
//     until a deal with that id is imported; then its touches join the
//     phone's. Resolution happens at query time.
//   - The score of a lead as of a time T is the sum of the points of its
//     touches at or before T, by the configured points table (actions not
//     in the table, e.g. removed from it, score 0). With OncePerAction each
//     action counts once however often it happened; with a Decay only
//     touches in (T − Decay, T] count. Scores are computed from the stored
//     touches on every query (kept in memory, book.go, or in SQL), so a new
//     table re-scores history.
//   - A lead converted when it has a won deal (latest version); its
//     conversion time is the earliest close time of its won deals in the
//     look-back window. The threshold is the average score, as of their
//     conversion, of the leads that converted within the look-back window
//     (now − Lookback, now] and have at least one touch at or before the
//     conversion (a sale without any tracked action says nothing about
//     scores). With fewer than MinSample such leads the threshold is
//     FallbackThreshold.
//   - A lead is open when none of the deals of its phone is won or lost
//     (open deals do not matter). Leads without a phone are always open.
//   - The call queue lists the open leads with a touch at or before now by
//     score, descending, then by last touch, newest first; a lead is above
//     the threshold when its score is ≥ the threshold.
package scoring

import (
	"context"
	"errors"
	"fmt"
	"math"
	"regexp"
	"sort"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/callpulse/callpulse/analytics"
)

// Defaults of Options, as documented in docs/api.md.
const (
	DefaultLookback          = 90 * 24 * time.Hour
	DefaultMinSample         = 10
	DefaultFallbackThreshold = 30
	DefaultKeepTouches       = 2_000_000
)

// MaxPoints bounds the points of one action.
const MaxPoints = 1_000_000

// DefaultPoints returns the default points table: the product's seeds
// (site_visit 5, pricing_page 15, form_view 5, application 20) and the
// other usable actions, weighed by how much intent they show: an opened
// e-mail 2, a clicked link 3, a downloaded video 10, a booked consultation
// 25 (an explicit request to talk, above an application).
func DefaultPoints() map[string]int {
	return map[string]int{
		"site_visit":     5,
		"pricing_page":   15,
		"form_view":      5,
		"application":    20,
		"email_open":     2,
		"link_click":     3,
		"video_download": 10,
		"consultation":   25,
	}
}

// Options configure scoring. The zero value is not valid: start from
// DefaultOptions.
type Options struct {
	// Points is the points of each tracked action id. Touches of other
	// actions are refused. Ids are 1 to 64 characters from [a-z0-9_],
	// starting with a letter; points are 0 to MaxPoints.
	Points map[string]int
	// OncePerAction counts each action at most once per lead.
	OncePerAction bool
	// Decay, if positive, counts only touches younger than Decay at the
	// time a score is taken; 0 means touches never expire.
	Decay time.Duration
	// Lookback is how far back conversions calibrate the threshold.
	Lookback time.Duration
	// MinSample is the fewest converted leads that calibrate the threshold;
	// with fewer, FallbackThreshold applies. At least 1.
	MinSample int
	// FallbackThreshold is the threshold until enough leads converted.
	FallbackThreshold float64
	// KeepTouches is the most stored touches the Scorer keeps in memory
	// (about 140 bytes each) to compute the queue, the threshold and the
	// count above it from; with more, or 0, it computes them in SQL on
	// every call, which takes seconds at a million touches.
	KeepTouches int
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// DefaultOptions returns the documented defaults.
func DefaultOptions() Options {
	return Options{
		Points:            DefaultPoints(),
		Lookback:          DefaultLookback,
		MinSample:         DefaultMinSample,
		FallbackThreshold: DefaultFallbackThreshold,
		KeepTouches:       DefaultKeepTouches,
	}
}

var actionID = regexp.MustCompile(`^[a-z][a-z0-9_]{0,63}$`)

// Validate reports every broken rule of the options.
func (o Options) Validate() error {
	var errs []error
	if len(o.Points) == 0 {
		errs = append(errs, errors.New("points: empty; list the tracked actions and their points"))
	}
	for _, a := range sortedKeys(o.Points) {
		if !actionID.MatchString(a) {
			errs = append(errs, fmt.Errorf("points: action %q: want 1-64 of [a-z0-9_], starting with a letter", a))
		}
		if p := o.Points[a]; p < 0 || p > MaxPoints {
			errs = append(errs, fmt.Errorf("points: %s: %d points, want 0 to %d", a, p, MaxPoints))
		}
	}
	if o.Decay < 0 || (o.Decay > 0 && o.Decay < time.Second) {
		errs = append(errs, fmt.Errorf("decay: %v, want 0 (no decay) or at least 1s", o.Decay))
	}
	if o.Lookback <= 0 {
		errs = append(errs, fmt.Errorf("lookback: %v, want a positive duration", o.Lookback))
	}
	if o.MinSample < 1 {
		errs = append(errs, fmt.Errorf("min_sample: %d, want at least 1", o.MinSample))
	}
	if o.KeepTouches < 0 || o.KeepTouches > math.MaxInt32 {
		errs = append(errs, fmt.Errorf("keep_touches: %d, want 0 (never keep) to %d", o.KeepTouches, math.MaxInt32))
	}
	if f := o.FallbackThreshold; f < 0 || math.IsNaN(f) || math.IsInf(f, 0) {
		errs = append(errs, fmt.Errorf("fallback_threshold: %v, want a non-negative number", f))
	}
	return errors.Join(errs...)
}

// Scorer scores leads from the touches and deals in ClickHouse. It is safe
// for concurrent use.
type Scorer struct {
	conn driver.Conn
	opts Options
	now  func() time.Time
	// actions and points are the points table as the two parallel arrays
	// SQL's transform() takes.
	actions []string
	points  []int64
	// fast is the one-pass queries for OncePerAction (queuesql.go).
	fast fastQueries
	// lines gives the line sources of leads from the phone rollup.
	lines lineSources
	// book keeps the touches and deals the queue and the threshold are
	// computed from (book.go); nil computes them in SQL every time.
	book *touchBook
}

// lineSources gives the line source of each phone's earliest call on a
// line with one (analytics.Phones), from the rollup or, Raw, by folding
// the calls.
type lineSources interface {
	FirstLineSources(ctx context.Context, phones []string) (map[string]string, error)
	FirstLineSourcesRaw(ctx context.Context, phones []string) (map[string]string, error)
}

// New returns a Scorer over a ClickHouse connection whose default database
// holds callpulse's tables (warehouse.DB.Conn).
func New(conn driver.Conn, opts Options) (*Scorer, error) {
	if err := opts.Validate(); err != nil {
		return nil, fmt.Errorf("scoring options: %w", err)
	}
	s := &Scorer{conn: conn, opts: opts, now: opts.Now, lines: analytics.NewPhones(conn)}
	if opts.KeepTouches > 0 {
		s.book = newTouchBook(opts.KeepTouches)
	}
	s.fast = newFastQueries(opts.OncePerAction)
	if s.now == nil {
		s.now = time.Now
	}
	s.actions = sortedKeys(opts.Points)
	for _, a := range s.actions {
		s.points = append(s.points, int64(opts.Points[a]))
	}
	return s, nil
}

// Actions returns the tracked action ids, sorted.
func (s *Scorer) Actions() []string { return append([]string(nil), s.actions...) }

// Now is the scorer's clock.
func (s *Scorer) Now() time.Time { return s.now() }

// decaySeconds is the window of a score in seconds: touches at most this
// old count. Without decay it is a span longer than DateTime's range.
func (s *Scorer) decaySeconds() int64 {
	if s.opts.Decay <= 0 {
		return 1 << 40
	}
	return int64(s.opts.Decay / time.Second)
}

func sortedKeys(m map[string]int) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
