package ingest

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

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

	// The provider's series of the common outcome, looked up once.
	accepted prometheus.Counter  // requests answered 200
	events   prometheus.Counter  // events made durable
	duration prometheus.Observer // request latency
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
	name := p.Name()
	m := opts.Metrics
	m.register(name)
	return &Handler{provider: p, spool: sp, maxBody: opts.MaxBody, metrics: m, publish: opts.Publish,
		log: opts.Logger.With("provider", name), now: time.Now,
		accepted: m.requests.WithLabelValues(name, strconv.Itoa(http.StatusOK)),
		events:   m.events.WithLabelValues(name),
		duration: m.duration.WithLabelValues(name)}
}

// ServeHTTP reads, parses, spools and acknowledges one webhook request.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := h.now()
	code := h.serve(w, r)
	if code == http.StatusOK {
		h.accepted.Inc()
	} else {
		h.metrics.requests.WithLabelValues(h.provider.Name(), strconv.Itoa(code)).Inc()
	}
	h.duration.Observe(time.Since(start).Seconds())
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
		h.events.Add(float64(len(events)))
		if h.publish != nil {
			h.publish(events)
		}
	}
	if parsed.Reply != nil {
		rw := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		parsed.Reply(rw)
		return rw.code
	}
	return writeAccepted(w, len(events))
}

// writeAccepted answers 200 {"accepted": n}, as writeJSON would, without
// its reflection: it is the answer to almost every request.
func writeAccepted(w http.ResponseWriter, n int) int {
	var buf [32]byte
	b := strconv.AppendInt(append(buf[:0], `{"accepted":`...), int64(n), 10)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(append(b, "}\n"...))
	return http.StatusOK
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
