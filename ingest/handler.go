package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/spool"
)

// Handler serves one provider's webhook endpoint.
type Handler struct {
	provider Provider
	spool    Appender
	maxBody  int64
	metrics  *Metrics
	publish  func([]call.Event)
	log      *slog.Logger
	now      func() time.Time
}

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	// MaxBody is the largest body accepted; larger ones get 413.
	MaxBody int64
	Metrics *Metrics
	// Publish, if set, gets the events once they are durable (the live
	// feed). It must not block.
	Publish func([]call.Event)
	Logger  *slog.Logger
}

// NewHandler returns the HTTP handler for a provider.
func NewHandler(p Provider, sp Appender, opts HandlerOptions) *Handler {
	opts.Metrics.register(p.Name())
	return &Handler{provider: p, spool: sp, maxBody: opts.MaxBody, metrics: opts.Metrics, publish: opts.Publish,
		log: opts.Logger.With("provider", p.Name()), now: time.Now}
}

// ServeHTTP reads, parses, spools and acknowledges one webhook request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	code := h.serve(w, r)
	name := h.provider.Name()
	h.metrics.requests.WithLabelValues(name, strconv.Itoa(code)).Inc()
	h.metrics.duration.WithLabelValues(name).Observe(time.Since(start).Seconds())
}

func (h *Handler) serve(w http.ResponseWriter, r *http.Request) int {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return h.reject(w, &Error{Status: http.StatusRequestEntityTooLarge,
				Msg: "body larger than " + strconv.FormatInt(h.maxBody, 10) + " bytes"})
		}
		return h.reject(w, &Error{Status: http.StatusBadRequest, Msg: "read body: connection error"})
	}
	parsed, err := h.provider.Parse(r, body, h.now())
	events := parsed.Events
	if err != nil {
		var bad *Error
		if !errors.As(err, &bad) {
			bad = &Error{Status: http.StatusBadRequest, Msg: err.Error()}
		}
		return h.reject(w, bad)
	}
	if len(events) > 0 {
		payloads := make([][]byte, len(events))
		for i, e := range events {
			if payloads[i], err = e.Marshal(); err != nil {
				h.log.Error("encode call event", "err", err)
				return writeJSON(w, http.StatusInternalServerError, errorBody{Error: "internal error"})
			}
		}
		if _, err := h.spool.Append(r.Context(), payloads...); err != nil {
			return h.unavailable(w, r, err)
		}
		h.metrics.events.WithLabelValues(h.provider.Name()).Add(float64(len(events)))
		if h.publish != nil {
			h.publish(events)
		}
	}
	if parsed.Reply != nil {
		rw := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		parsed.Reply(rw)
		return rw.code
	}
	return writeJSON(w, http.StatusOK, map[string]int{"accepted": len(events)})
}

// unavailable answers a request whose events could not be made durable.
// Nothing was acknowledged, so the PBX must send it again.
func (h *Handler) unavailable(w http.ResponseWriter, r *http.Request, err error) int {
	if r.Context().Err() != nil {
		// The sender went away before the events were durable; it got no
		// 2xx and will retry. 499 is only for our metrics.
		return 499
	}
	retry := spool.RetryAfter(err)
	h.log.Warn("spool refused webhook", "err", err, "retry_after", retry)
	w.Header().Set("Retry-After", strconv.Itoa(int(retry.Round(time.Second).Seconds())))
	msg := "spool unavailable, retry later"
	if errors.Is(err, spool.ErrFull) {
		msg = "spool full, retry later"
	}
	return writeJSON(w, http.StatusServiceUnavailable, errorBody{Error: msg})
}

type errorBody struct {
	Error string `json:"error"`
	Field string `json:"field,omitempty"`
}

func (h *Handler) reject(w http.ResponseWriter, e *Error) int {
	h.log.Warn("rejected webhook", "status", e.Status, "reason", e.Error())
	if e.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="callpulse"`)
	}
	return writeJSON(w, e.Status, errorBody{Error: e.Msg, Field: e.Field})
}

func writeJSON(w http.ResponseWriter, code int, v any) int {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
	return code
}

// statusRecorder remembers the status a Reply wrote, for metrics.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	s.code = code
	s.ResponseWriter.WriteHeader(code)
}
