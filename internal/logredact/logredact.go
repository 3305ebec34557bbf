// Package logredact keeps phone numbers out of the daemon's log. callpulse's
// own messages name calls and clients by id, never by number, but errors
// returned by libraries quote what they were given: ClickHouse quotes the
// part of a query it refuses (which may hold a set of phones), HTTP clients
// quote URLs. Handler rewrites the error attributes of every record above
// Debug before it is written; Debug, for an operator chasing a problem,
// keeps them whole.
package logredact

import (
	"context"
	"log/slog"
	"regexp"
)

// Replacement stands for a redacted number.
const Replacement = "<phone>"

// numbers matches what may be a phone number in an error text: an E.164
// number ("+" and 6 to 15 digits), or a bare run of 10 to 15 digits (a
// number without its "+", national with its trunk prefix). Shorter bare
// runs (ports, counts, years) and dates are left alone; a 10+ digit id or
// timestamp in an error is redacted too, a price worth paying.
var numbers = regexp.MustCompile(`\+\d{6,15}\b|\b\d{10,15}\b`)

// String returns s with every possible phone number replaced.
func String(s string) string {
	return numbers.ReplaceAllString(s, Replacement)
}

// Handler wraps another slog.Handler; see the package comment.
type Handler struct{ next slog.Handler }

// New returns a Handler writing to next.
func New(next slog.Handler) *Handler { return &Handler{next: next} }

// Enabled implements slog.Handler.
func (h *Handler) Enabled(ctx context.Context, l slog.Level) bool { return h.next.Enabled(ctx, l) }

// Handle implements slog.Handler.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level <= slog.LevelDebug {
		return h.next.Handle(ctx, r)
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		out.AddAttrs(redactAttr(a))
		return true
	})
	return h.next.Handle(ctx, out)
}

// WithAttrs implements slog.Handler. Attributes bound to a logger are
// redacted once, here, whatever the level of the records that carry them.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	red := make([]slog.Attr, len(attrs))
	for i, a := range attrs {
		red[i] = redactAttr(a)
	}
	return &Handler{next: h.next.WithAttrs(red)}
}

// WithGroup implements slog.Handler.
func (h *Handler) WithGroup(name string) slog.Handler { return &Handler{next: h.next.WithGroup(name)} }

// redactAttr rewrites an error value as its redacted text, and looks into
// groups; other values are callpulse's own and pass unchanged.
func redactAttr(a slog.Attr) slog.Attr {
	v := a.Value.Resolve()
	switch v.Kind() {
	case slog.KindGroup:
		group := v.Group()
		red := make([]any, len(group))
		for i, g := range group {
			red[i] = redactAttr(g)
		}
		return slog.Group(a.Key, red...)
	case slog.KindAny:
		if err, ok := v.Any().(error); ok && err != nil {
			return slog.String(a.Key, String(err.Error()))
		}
	}
	return a
}
