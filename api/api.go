// Package api serves callpulse's read API under /api/v1 (JSON, Bearer
// token). docs/api.md documents every endpoint.
package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/callpulse/callpulse/analytics"
)

// TalkTimer answers talk-time questions.
type TalkTimer interface {
	TalkTime(ctx context.Context, p analytics.Period, extensions []string) ([]analytics.TalkRow, error)
	Location() *time.Location
}

// Funnel answers ad-source questions.
type Funnel interface {
	Sources(ctx context.Context, p analytics.Period) ([]analytics.SourceRow, error)
	Refusals(ctx context.Context, p analytics.Period) ([]analytics.RefusalRow, error)
}

// Callbacks answers missed-call, speed-to-lead and repeat-caller
// questions.
type Callbacks interface {
	Missed(ctx context.Context, p analytics.Period, openOnly bool, sla time.Duration) ([]analytics.MissedCall, error)
	SpeedToLead(ctx context.Context, p analytics.Period, sla time.Duration, team *analytics.Team) ([]analytics.SpeedRow, error)
	RepeatCallers(ctx context.Context, p analytics.Period) ([]analytics.RepeatCall, error)
}

// Store is every query the API runs; *analytics.Store implements it.
type Store interface {
	TalkTimer
	Funnel
	Callbacks
}

// Server holds the API's dependencies.
type Server struct {
	token   [sha256.Size]byte // SHA-256 of the API token
	store   Store
	team    *analytics.Team
	targets analytics.Targets
	timeout time.Duration
	log     *slog.Logger
	// ErrorCounter, if set, counts failed queries (so ClickHouse errors of the
	// API show in the store's metrics).
	ErrorCounter func()
	// CallbackSLA is the time within which a missed call should be called
	// back (missed calls, speed to lead); zero means
	// analytics.DefaultCallbackSLA. Set it before Register.
	CallbackSLA time.Duration
}

// NewServer returns the API. token must not be empty.
func NewServer(token string, store Store, team *analytics.Team, targets analytics.Targets, timeout time.Duration, log *slog.Logger) *Server {
	return &Server{token: sha256.Sum256([]byte(token)), store: store, team: team, targets: targets, timeout: timeout, log: log}
}

// endpoint is one query route of the API.
type endpoint struct {
	pattern string // a ServeMux pattern: "GET /api/v1/..."
	handle  func(w http.ResponseWriter, r *http.Request) error
}

// endpoints lists the query routes; docs/openapi.yaml documents each (a
// test checks).
func (s *Server) endpoints() []endpoint {
	return []endpoint{
		{"GET /api/v1/talk-time", s.talkTime},
		{"GET /api/v1/sources", s.sources},
		{"GET /api/v1/refusals", s.refusals},
		{"GET /api/v1/missed", s.missed},
		{"GET /api/v1/speed-to-lead", s.speedToLead},
		{"GET /api/v1/repeat-callers", s.repeatCallers},
	}
}

// Register adds the API routes to mux.
func (s *Server) Register(mux *http.ServeMux) {
	for _, e := range s.endpoints() {
		mux.Handle(e.pattern, s.authorized(s.query(e.handle), false))
	}
}

// Handle adds another authorized handler under the API (touches, the
// queue, recordings). Such handlers bound their own time.
func (s *Server) Handle(mux *http.ServeMux, pattern string, h http.Handler) {
	mux.Handle(pattern, s.authorized(h, false))
}

// HandleWebSocket adds an authorized handler that browsers open as a
// WebSocket (the live feed): as they cannot set headers there, it also
// takes the token in the access_token query parameter. No other route
// does, so that tokens stay out of URLs (proxy logs, browser history).
func (s *Server) HandleWebSocket(mux *http.ServeMux, pattern string, h http.Handler) {
	mux.Handle(pattern, s.authorized(h, true))
}

// RequireToken lets a request through to h only with token in
// "Authorization: Bearer", checked as the API checks its own (/metrics
// with metrics.token). token must not be empty.
func RequireToken(token string, h http.Handler) http.Handler {
	s := &Server{token: sha256.Sum256([]byte(token))}
	return s.authorized(h, false)
}

// authorized lets a request through with the API token in
// "Authorization: Bearer", or, where queryToken is set, in the
// access_token query parameter.
func (s *Server) authorized(h http.Handler, queryToken bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		token, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok && queryToken {
			token = r.URL.Query().Get("access_token")
		}
		// Digests are compared so that neither the content nor the length of
		// the token leaks through timing.
		sum := sha256.Sum256([]byte(token))
		if token == "" || subtle.ConstantTimeCompare(sum[:], s.token[:]) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="callpulse"`)
			writeError(w, http.StatusUnauthorized, "missing or wrong Authorization: Bearer token")
			return
		}
		h.ServeHTTP(w, r)
	})
}

// query runs a JSON query handler under the query timeout and turns its
// error into a 503.
func (s *Server) query(h func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), s.timeout)
		defer cancel()
		if err := h(w, r.WithContext(ctx)); err != nil {
			if s.ErrorCounter != nil {
				s.ErrorCounter()
			}
			s.log.Error("api query failed", "path", r.URL.Path, "err", err)
			writeError(w, http.StatusServiceUnavailable, "query failed; see the daemon log")
		}
	})
}

// period reads the from and to parameters (YYYY-MM-DD, inclusive, in the
// configured time zone; from defaults to today, to to from). On a bad
// value it answers 400 and returns false.
func (s *Server) period(w http.ResponseWriter, r *http.Request) (analytics.Period, bool) {
	q := r.URL.Query()
	loc := s.store.Location()
	from, to := q.Get("from"), q.Get("to")
	if from == "" {
		from = time.Now().In(loc).Format(time.DateOnly)
	}
	if to == "" {
		to = from
	}
	p, err := analytics.ParsePeriod(from, to, loc)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return analytics.Period{}, false
	}
	return p, true
}

// sla is the configured callback SLA.
func (s *Server) sla() time.Duration {
	if s.CallbackSLA <= 0 {
		return analytics.DefaultCallbackSLA
	}
	return s.CallbackSLA
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}
