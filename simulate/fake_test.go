package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/phone"
	"github.com/callpulse/callpulse/scoring"
)

// fakeClock is a clock whose Sleep advances it at once.
type fakeClock struct {
	mu    sync.Mutex
	now   time.Time
	slept []time.Duration
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	c.slept = append(c.slept, d)
	return nil
}

// sleeps returns the durations Sleep was asked for.
func (c *fakeClock) sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return slices.Clone(c.slept)
}

// wireSnapshot is one webhook object; pointers tell absent from empty.
type wireSnapshot struct {
	CallID       *string `json:"call_id"`
	Direction    *string `json:"direction"`
	StartedAt    *string `json:"started_at"`
	AnsweredAt   *string `json:"answered_at"`
	EndedAt      *string `json:"ended_at"`
	ClientPhone  *string `json:"client_phone"`
	LinePhone    *string `json:"line_phone"`
	Manager      *string `json:"manager"`
	Status       *string `json:"status"`
	RecordingURL *string `json:"recording_url"`
}

// seen is a snapshot the fake accepted.
type seen struct {
	CallID                           string
	Direction                        call.Direction
	Status                           call.Status
	Started, Answered, Ended         time.Time
	Client, Line, Manager, Recording string
}

// final reports whether the snapshot is the last word on its call.
func (s seen) final() bool { return !s.Ended.IsZero() }

// fakeCallpulse is the generic webhook of callpulse, strict about every
// body. Snapshots it cannot accept fail the test and get a 400.
type fakeCallpulse struct {
	t        *testing.T
	token    string
	apiToken string
	loc      *time.Location
	lines    []string
	mgrs     []string
	clock    *fakeClock
	// respond, if set, may answer the n-th request (from 1) with a status
	// other than 202 and a Retry-After header.
	respond func(n int) (status int, retryAfter string)

	mu        sync.Mutex
	requests  int
	snapshots int               // accepted, duplicates included
	accepted  map[string]int    // raw body → times accepted
	refused   map[string]bool   // raw bodies answered with an error status
	calls     map[string][]seen // call id → snapshots in order of arrival
	shapes    map[bool]int      // array? → accepted bodies
	// touches counts the touches accepted by POST /api/v1/touches per
	// touch id, in the API's validation (scoring.ParseTouches) with the
	// default points table; touchesFirst is whether they all came before
	// the first snapshot.
	touches      map[string]int
	touchesFirst bool
}

func newFakeCallpulse(t *testing.T, o Options, clock *fakeClock) *fakeCallpulse {
	return &fakeCallpulse{
		t: t, token: o.Token, apiToken: o.APIToken, loc: o.Location, lines: o.Lines, mgrs: o.Managers, clock: clock,
		touches: make(map[string]int), touchesFirst: true,
		accepted: make(map[string]int),
		refused:  make(map[string]bool),
		calls:    make(map[string][]seen),
		shapes:   make(map[bool]int),
	}
}

// start serves the fake and returns its URL.
func (f *fakeCallpulse) start() string {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	return srv.URL
}

func (f *fakeCallpulse) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodPost && r.URL.Path == "/api/v1/touches" {
		f.serveTouches(w, r)
		return
	}
	if r.Method != http.MethodPost || r.URL.Path != "/webhooks/generic" {
		f.fail(w, http.StatusNotFound, "unexpected %s %s", r.Method, r.URL.Path)
		return
	}
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.token {
		f.fail(w, http.StatusUnauthorized, "Authorization = %q", got)
		return
	}
	if got := r.Header.Get("Content-Type"); got != "application/json" {
		f.fail(w, http.StatusUnsupportedMediaType, "Content-Type = %q", got)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.fail(w, http.StatusBadRequest, "read body: %v", err)
		return
	}
	objs, array, err := decodeStrict(body)
	if err != nil {
		f.fail(w, http.StatusBadRequest, "%v in %s", err, body)
		return
	}
	snaps := make([]seen, 0, len(objs))
	for _, o := range objs {
		s, err := f.validate(o)
		if err != nil {
			f.fail(w, http.StatusBadRequest, "%v in %s", err, body)
			return
		}
		snaps = append(snaps, s)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	if f.respond != nil {
		if status, retryAfter := f.respond(f.requests); status/100 != 2 {
			f.refused[string(body)] = true
			if retryAfter != "" {
				w.Header().Set("Retry-After", retryAfter)
			}
			w.WriteHeader(status)
			return
		}
	}
	f.accepted[string(body)]++
	f.shapes[array]++
	f.snapshots += len(snaps)
	for _, s := range snaps {
		f.calls[s.CallID] = append(f.calls[s.CallID], s)
	}
	w.WriteHeader(http.StatusAccepted)
}

// serveTouches is POST /api/v1/touches: the API token, and the body as the
// API validates it.
func (f *fakeCallpulse) serveTouches(w http.ResponseWriter, r *http.Request) {
	if got := r.Header.Get("Authorization"); got != "Bearer "+f.apiToken {
		f.fail(w, http.StatusUnauthorized, "touches: Authorization = %q", got)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		f.fail(w, http.StatusBadRequest, "read touches: %v", err)
		return
	}
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		f.fail(w, http.StatusInternalServerError, "normalizer: %v", err)
		return
	}
	touches, err := scoring.ParseTouches(body, norm, slices.Collect(maps.Keys(scoring.DefaultPoints())), f.clock.Now())
	if err != nil {
		f.fail(w, http.StatusBadRequest, "touches refused: %v", err)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.calls) > 0 {
		f.touchesFirst = false
	}
	for _, t := range touches {
		f.touches[t.ID]++
	}
	fmt.Fprintf(w, `{"accepted":%d}`, len(touches))
}

func (f *fakeCallpulse) fail(w http.ResponseWriter, status int, format string, args ...any) {
	f.t.Errorf("fake callpulse: "+format, args...)
	http.Error(w, fmt.Sprintf(format, args...), status)
}

// decodeStrict decodes a body that is one object or an array of them, with
// no unknown fields and nothing after it.
func decodeStrict(body []byte) (objs []wireSnapshot, array bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	array = len(bytes.TrimSpace(body)) > 0 && bytes.TrimSpace(body)[0] == '['
	if array {
		err = dec.Decode(&objs)
		if err == nil && len(objs) == 0 {
			err = errors.New("empty array")
		}
	} else {
		var o wireSnapshot
		err = dec.Decode(&o)
		objs = []wireSnapshot{o}
	}
	if err != nil {
		return nil, false, err
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, false, errors.New("data after the JSON value")
	}
	return objs, array, nil
}

var mobileRE = regexp.MustCompile(`^\+79\d{9}$`)

// validate checks one object on its own: fields present and well-formed,
// times in order and not in the future, statuses that fit the direction.
func (f *fakeCallpulse) validate(o wireSnapshot) (seen, error) {
	var s seen
	for name, p := range map[string]*string{
		"call_id": o.CallID, "direction": o.Direction, "started_at": o.StartedAt,
		"client_phone": o.ClientPhone, "line_phone": o.LinePhone, "manager": o.Manager, "status": o.Status,
	} {
		if p == nil || *p == "" {
			return s, fmt.Errorf("%s missing", name)
		}
	}
	s.CallID, s.Client, s.Line, s.Manager = *o.CallID, *o.ClientPhone, *o.LinePhone, *o.Manager
	var err error
	if s.Direction, err = call.ParseDirection(*o.Direction); err != nil {
		return s, err
	}
	if s.Status, err = call.ParseStatus(*o.Status); err != nil {
		return s, err
	}
	if s.Started, err = f.parseTime(o.StartedAt); err != nil {
		return s, fmt.Errorf("started_at: %w", err)
	}
	if s.Answered, err = f.parseTime(o.AnsweredAt); err != nil {
		return s, fmt.Errorf("answered_at: %w", err)
	}
	if s.Ended, err = f.parseTime(o.EndedAt); err != nil {
		return s, fmt.Errorf("ended_at: %w", err)
	}
	switch {
	case !mobileRE.MatchString(s.Client):
		return s, fmt.Errorf("client_phone %q is not +79xxxxxxxxx", s.Client)
	case !slices.Contains(f.lines, s.Line):
		return s, fmt.Errorf("line_phone %q is not one of %v", s.Line, f.lines)
	case !slices.Contains(f.mgrs, s.Manager):
		return s, fmt.Errorf("manager %q is not one of %v", s.Manager, f.mgrs)
	case s.Status == call.StatusAnswered && s.Answered.Before(s.Started):
		return s, errors.New("answered but answered_at missing or before started_at")
	case s.Status != call.StatusAnswered && !s.Answered.IsZero():
		return s, fmt.Errorf("%s but answered_at set", s.Status)
	case s.Status != call.StatusAnswered && s.Ended.IsZero():
		return s, fmt.Errorf("%s but ended_at missing", s.Status)
	case !s.Ended.IsZero() && (s.Ended.Before(s.Started) || s.Ended.Before(s.Answered)):
		return s, errors.New("ended_at before started_at or answered_at")
	case s.Status == call.StatusMissed && s.Direction != call.DirectionInbound:
		return s, errors.New("missed outbound call")
	case latest(s.Started, s.Answered, s.Ended).After(f.clock.Now()):
		return s, fmt.Errorf("snapshot from the future (now %v)", f.clock.Now())
	}
	if o.RecordingURL != nil {
		s.Recording = *o.RecordingURL
		if want := "https://pbx.example/rec/" + s.CallID + ".wav"; s.Recording != want || s.Ended.IsZero() || s.Status != call.StatusAnswered {
			return s, fmt.Errorf("recording_url %q on a %s call (ended %v), want %q on ended answered calls", s.Recording, s.Status, s.Ended, want)
		}
	}
	return s, nil
}

// parseTime parses an optional RFC 3339 time, which must be in whole seconds
// with the UTC offset of the simulation's location. It returns the time in
// UTC, so that seen values compare with ==.
func (f *fakeCallpulse) parseTime(p *string) (time.Time, error) {
	if p == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339, *p)
	if err != nil {
		return time.Time{}, err
	}
	if want := t.In(f.loc).Format(time.RFC3339); *p != want {
		return time.Time{}, fmt.Errorf("%q, want %q: whole seconds in %s", *p, want, f.loc)
	}
	return t.UTC(), nil
}

func latest(ts ...time.Time) time.Time {
	var l time.Time
	for _, t := range ts {
		if t.After(l) {
			l = t
		}
	}
	return l
}

// result is what the fake saw during a run.
type result struct {
	requests  int
	snapshots int
	accepted  map[string]int
	refused   map[string]bool
	calls     map[string][]seen
	shapes    map[bool]int
}

// result returns a copy of what the fake has seen, to inspect after Run.
func (f *fakeCallpulse) result() result {
	f.mu.Lock()
	defer f.mu.Unlock()
	calls := make(map[string][]seen, len(f.calls))
	for id, ss := range f.calls {
		calls[id] = slices.Clone(ss)
	}
	return result{f.requests, f.snapshots, maps.Clone(f.accepted), maps.Clone(f.refused), calls, maps.Clone(f.shapes)}
}

// final returns the final snapshot of each call; it fails the test for a
// call without one or whose snapshots disagree on what never changes.
func (r result) final(t *testing.T) map[string]seen {
	t.Helper()
	out := make(map[string]seen, len(r.calls))
	for id, ss := range r.calls {
		first := ss[0]
		for _, s := range ss {
			if s.Direction != first.Direction || !s.Started.Equal(first.Started) ||
				s.Client != first.Client || s.Line != first.Line || s.Manager != first.Manager {
				t.Errorf("call %s: snapshots disagree: %+v vs %+v", id, first, s)
			}
			if s.final() {
				if prev, ok := out[id]; ok && prev != s {
					t.Errorf("call %s: two different final snapshots: %+v vs %+v", id, prev, s)
				}
				out[id] = s
			}
		}
		if _, ok := out[id]; !ok {
			t.Errorf("call %s: no final snapshot among %d", id, len(ss))
		}
	}
	return out
}
