package logredact

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"
)

func TestString(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"Max query size exceeded: ('+79161234567', '+79161234568'", "Max query size exceeded: ('<phone>', '<phone>'"},
		{"GET https://portal.example/rest/x?PHONE=79161234567: 503", "GET https://portal.example/rest/x?PHONE=<phone>: 503"},
		{"dial tcp 127.0.0.1:9000: connection refused", "dial tcp 127.0.0.1:9000: connection refused"},
		{"code: 241, message: Memory limit (for query) exceeded: would use 3.73 GiB", "code: 241, message: Memory limit (for query) exceeded: would use 3.73 GiB"},
		{"call 2026-11-22 22:20:01 of +44207946", "call 2026-11-22 22:20:01 of <phone>"},
		{"insert 10000 rows", "insert 10000 rows"},
	} {
		if got := String(tt.in); got != tt.want {
			t.Errorf("String(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHandler(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	boom := fmt.Errorf("query gauges: %w", errors.New("AST is too big near '+79161234567'"))

	log.Warn("refresh failed", "err", boom, "call_id", "abc-1")
	log.With("err", boom).Info("bound")
	log.Error("grouped", slog.Group("ch", "err", boom))
	warnings := buf.String()
	if strings.Contains(warnings, "79161234567") || strings.Count(warnings, Replacement) != 3 {
		t.Errorf("a phone number in an error reached the log above Debug:\n%s", warnings)
	}
	if !strings.Contains(warnings, "call_id=abc-1") || !strings.Contains(warnings, "query gauges: AST is too big") {
		t.Errorf("more than the number was lost:\n%s", warnings)
	}

	buf.Reset()
	log.Debug("refresh failed", "err", boom)
	if !strings.Contains(buf.String(), "+79161234567") {
		t.Errorf("Debug should keep the error whole: %s", buf.String())
	}
	if !log.Handler().Enabled(context.Background(), slog.LevelDebug) {
		t.Error("Enabled must follow the wrapped handler")
	}
}
