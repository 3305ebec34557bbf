package scoring

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promauto"

	"github.com/callpulse/callpulse/analytics"
	"github.com/callpulse/callpulse/warehouse"
)

// RetryAfter is what a 503 asks the sender of touches to wait.
const RetryAfter = 5 * time.Second

// DefaultQueueLimit is the queue length when the request gives none.
const DefaultQueueLimit = 50

// TouchStore stores touches durably; *warehouse.DB implements it. It
// returns nil only when every touch is stored.
type TouchStore interface {
	InsertTouches(ctx context.Context, touches []warehouse.Touch, received time.Time) error
}

// HandlerOptions configure the HTTP handlers.
type HandlerOptions struct {
	Scorer     *Scorer
	Store      TouchStore
	Normalizer Normalizer
	// Team maps the queue's managers to configured ids and names.
	Team *analytics.Team
	// MaxBody is the largest touches body accepted; larger ones get 413.
	MaxBody int64
	// Timeout bounds the ClickHouse work of one request.
	Timeout time.Duration
	// Registerer gets the handler's metrics; nil means not exported.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Handler serves POST /api/v1/touches and GET /api/v1/queue. It does not
// authenticate: mount it behind the API's token check (api.Server.Handle).
type Handler struct {
	opts     HandlerOptions
	log      *slog.Logger
	requests *prometheus.CounterVec
	stored   prometheus.Counter
}

// Route is one route of the handler: a ServeMux pattern and its handler.
type Route struct {
	Pattern string
	Handler http.Handler
}

// NewHandler returns the handlers. Scorer, Store, Normalizer and Team are
// required; MaxBody and Timeout must be positive.
func NewHandler(opts HandlerOptions) (*Handler, error) {
	switch {
	case opts.Scorer == nil || opts.Store == nil || opts.Normalizer == nil || opts.Team == nil:
		return nil, errors.New("scoring handler: Scorer, Store, Normalizer and Team are required")
	case opts.MaxBody <= 0 || opts.Timeout <= 0:
		return nil, errors.New("scoring handler: MaxBody and Timeout must be positive")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f := promauto.With(opts.Registerer)
	h := &Handler{
		opts: opts,
		log:  log,
		requests: f.NewCounterVec(prometheus.CounterOpts{
			Name: "callpulse_touches_requests_total",
			Help: "Requests to POST /api/v1/touches by HTTP status.",
		}, []string{"code"}),
		stored: f.NewCounter(prometheus.CounterOpts{
			Name: "callpulse_touches_stored_total",
			Help: "Touches stored in ClickHouse (re-sent touches included).",
		}),
	}
	for _, code := range []int{http.StatusOK, http.StatusBadRequest, http.StatusRequestEntityTooLarge,
		http.StatusUnsupportedMediaType, http.StatusServiceUnavailable} {
		h.requests.WithLabelValues(strconv.Itoa(code))
	}
	return h, nil
}

// Routes lists the handler's routes; docs/openapi.yaml documents each (a
// test checks).
func (h *Handler) Routes() []Route {
	return []Route{
		{"POST /api/v1/touches", http.HandlerFunc(h.touches)},
		{"GET /api/v1/queue", http.HandlerFunc(h.queue)},
	}
}

// touches stores the touches of one request and answers 200
// {"accepted": n} once ClickHouse has them all; 400 (nothing stored) for
// bad input, 413 for a body over MaxBody, 415 for a content type other
// than JSON, 503 with Retry-After when ClickHouse failed (nothing
// acknowledged; send again).
func (h *Handler) touches(w http.ResponseWriter, r *http.Request) {
	code := h.serveTouches(w, r)
	h.requests.WithLabelValues(strconv.Itoa(code)).Inc()
}

func (h *Handler) serveTouches(w http.ResponseWriter, r *http.Request) int {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return h.reject(w, http.StatusUnsupportedMediaType, &InputError{Msg: "Content-Type must be application/json"})
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.opts.MaxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return h.reject(w, http.StatusRequestEntityTooLarge,
				&InputError{Msg: "body larger than " + strconv.FormatInt(h.opts.MaxBody, 10) + " bytes"})
		}
		return h.reject(w, http.StatusBadRequest, &InputError{Msg: "read body: connection error"})
	}
	touches, err := ParseTouches(body, h.opts.Normalizer, h.opts.Scorer.Actions(), h.opts.Scorer.Now())
	if err != nil {
		var bad *InputError
		if !errors.As(err, &bad) {
			bad = &InputError{Msg: "bad request"}
		}
		return h.reject(w, http.StatusBadRequest, bad)
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	// The wall clock, not the scorer's: it orders the versions of re-sent
	// touches, so a later request must get a later time.
	if err := h.opts.Store.InsertTouches(ctx, touches, time.Now()); err != nil {
		if r.Context().Err() != nil {
			// The sender went away before the touches were stored; it got
			// no 2xx and will retry. 499 is only for our metrics.
			return 499
		}
		h.log.Warn("store touches", "touches", len(touches), "err", err)
		w.Header().Set("Retry-After", strconv.Itoa(int(RetryAfter/time.Second)))
		return writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "storage unavailable, retry later"})
	}
	h.stored.Add(float64(len(touches)))
	return writeJSON(w, http.StatusOK, map[string]int{"accepted": len(touches)})
}

// queue serves GET /api/v1/queue?limit=50&all=false: the call queue (see
// BuildQueueReport); 400 for a bad parameter, 503 when ClickHouse failed.
func (h *Handler) queue(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := DefaultQueueLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > MaxQueueLimit {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "limit: want an integer from 1 to " + strconv.Itoa(MaxQueueLimit)})
			return
		}
		limit = n
	}
	all := false
	if v := q.Get("all"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{Error: "all: want true or false"})
			return
		}
		all = b
	}
	ctx, cancel := context.WithTimeout(r.Context(), h.opts.Timeout)
	defer cancel()
	queue, err := h.opts.Scorer.Queue(ctx, limit, all)
	if err != nil {
		h.log.Error("api query failed", "path", r.URL.Path, "err", err)
		writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: "query failed; see the daemon log"})
		return
	}
	writeJSON(w, http.StatusOK, BuildQueueReport(queue, h.opts.Team))
}

type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

// reject answers a request the sender must fix. Messages never hold phone
// numbers, so they are logged.
func (h *Handler) reject(w http.ResponseWriter, code int, e *InputError) int {
	h.log.Warn("rejected touches", "status", code, "reason", e.Error())
	return writeJSON(w, code, errorBody{Error: e.Msg, Field: e.Field})
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
	return code
}
