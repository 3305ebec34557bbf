package prometheus_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// errNameMatcher reports a selector that names its metric in a __name__
// matcher, which metricNames cannot check.
var errNameMatcher = errors.New("selects the metric with a __name__ matcher; name it plainly so it can be checked")

// promqlKeywords are words of PromQL that are not metric names even when no
// "(" follows them: binary set operators, modifiers and aggregation
// operators (which may be followed by "by (...)" before their "(").
// PromQL matches them case-insensitively.
var promqlKeywords = map[string]bool{
	"and": true, "or": true, "unless": true, "atan2": true, "bool": true, "offset": true,
	"inf": true, "nan": true,
	"sum": true, "min": true, "max": true, "avg": true, "group": true, "stddev": true,
	"stdvar": true, "count": true, "count_values": true, "bottomk": true, "topk": true,
	"quantile": true,
}

// labelListKeywords are followed by a parenthesised list of label names.
var labelListKeywords = map[string]bool{
	"by": true, "without": true, "on": true, "ignoring": true, "group_left": true, "group_right": true,
}

// metricNames returns the metric names an expression selects, sorted and
// without duplicates. It is a scanner, not a parser: it skips comments,
// strings, label matchers ({...}), ranges ([...]), numbers and durations,
// keywords with their label lists, and identifiers followed by "(" (function
// calls); every other identifier is a metric name. It assumes expr is valid
// PromQL, which promtool check rules establishes. A selector that names its
// metric with a __name__ matcher is an error.
func metricNames(expr string) ([]string, error) {
	var names []string
	s := scanner{src: expr}
	for !s.done() {
		c := s.peek()
		switch {
		case c == '#':
			s.skipUntil('\n')
		case c == '"' || c == '\'' || c == '`':
			s.skipString()
		case c == '{':
			inner := s.skipGroup('{', '}')
			if slices.Contains(identifiers(inner), "__name__") {
				return nil, fmt.Errorf("%q %w", inner, errNameMatcher)
			}
		case c == '[':
			s.skipGroup('[', ']')
		case isDigit(c) || c == '.' && isDigit(s.peekAt(1)):
			s.skipNumber()
		case isIdentStart(c):
			word := s.ident()
			lower := strings.ToLower(word)
			switch {
			case labelListKeywords[lower]:
				s.skipSpace()
				if s.peek() == '(' {
					s.skipGroup('(', ')')
				}
			case promqlKeywords[lower]:
			default:
				s.skipSpace()
				if s.peek() != '(' {
					names = append(names, word)
				}
			}
		default:
			s.pos++ // operators, parentheses, commas, white space
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// identifiers returns the identifiers in a label matcher list, outside its
// quoted values.
func identifiers(matchers string) []string {
	var ids []string
	s := scanner{src: matchers}
	for !s.done() {
		switch c := s.peek(); {
		case c == '"' || c == '\'' || c == '`':
			s.skipString()
		case isIdentStart(c):
			ids = append(ids, s.ident())
		default:
			s.pos++
		}
	}
	return ids
}

// scanner walks a PromQL expression byte by byte; PromQL's syntax outside
// strings is ASCII.
type scanner struct {
	src string
	pos int
}

func (s *scanner) done() bool { return s.pos >= len(s.src) }

func (s *scanner) peek() byte { return s.peekAt(0) }

func (s *scanner) peekAt(n int) byte {
	if s.pos+n >= len(s.src) {
		return 0
	}
	return s.src[s.pos+n]
}

func (s *scanner) skipSpace() {
	for !s.done() && strings.IndexByte(" \t\r\n", s.peek()) >= 0 {
		s.pos++
	}
}

func (s *scanner) skipUntil(c byte) {
	for !s.done() && s.peek() != c {
		s.pos++
	}
}

// skipString skips a quoted string; backslash escapes apply in "..." and
// '...' but not in `...`.
func (s *scanner) skipString() {
	quote := s.peek()
	s.pos++
	for !s.done() {
		c := s.peek()
		s.pos++
		switch {
		case c == '\\' && quote != '`':
			s.pos++
		case c == quote:
			return
		}
	}
}

// skipGroup skips from an opening bracket to its closing one, skipping
// strings inside, and returns what was between them.
func (s *scanner) skipGroup(open, closing byte) string {
	start := s.pos + 1
	depth := 0
	for !s.done() {
		switch c := s.peek(); {
		case c == '"' || c == '\'' || c == '`':
			s.skipString()
			continue
		case c == open:
			depth++
		case c == closing:
			depth--
			if depth == 0 {
				s.pos++
				return s.src[start : s.pos-1]
			}
		}
		s.pos++
	}
	return s.src[start:]
}

// skipNumber skips a number or a duration: 0.8, 1e3, 1.5e-3, 0x1F, 5m, 1h30m.
func (s *scanner) skipNumber() {
	for !s.done() {
		c := s.peek()
		switch {
		case isDigit(c) || isLetter(c) || c == '.' || c == '_':
			s.pos++
		case (c == '+' || c == '-') && (s.src[s.pos-1] == 'e' || s.src[s.pos-1] == 'E') && !strings.HasPrefix(s.src[s.pos-2:], "0x"):
			s.pos++
		default:
			return
		}
	}
}

func (s *scanner) ident() string {
	start := s.pos
	for !s.done() && (isIdentStart(s.peek()) || isDigit(s.peek())) {
		s.pos++
	}
	return s.src[start:s.pos]
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isLetter(c byte) bool     { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isIdentStart(c byte) bool { return isLetter(c) || c == '_' || c == ':' }

func TestMetricNames(t *testing.T) {
	tests := []struct {
		name, expr string
		want       []string
	}{
		{"plain selector", `up`, []string{"up"}},
		{"matchers with keywords and metric-like values",
			`up{job="callpulse", instance=~"sum|rate(x)", a!='by {b}'} == 0`, []string{"up"}},
		{"function, range and duration units", `rate(a_total[5m]) > 0 and deriv(b[1h30m]) >= 0`, []string{"a_total", "b"}},
		{"space before a call's parenthesis", `rate (a_total [5m])`, []string{"a_total"}},
		{"aggregation with a label list before and after",
			`sum without(category) (x) + SUM BY (a, b) (y) + max(z) by (c)`, []string{"x", "y", "z"}},
		{"vector matching", `a / on(job, instance) group_left(reason) (b > 0) unless ignoring(x) c`, []string{"a", "b", "c"}},
		{"numbers, exponents, hex, inf, offset and @",
			`a > 1e+3 or b < 0x1E or c == Inf or d offset -5m > .5 or e @ 1700000000 or f @ start()`,
			[]string{"a", "b", "c", "d", "e", "f"}},
		{"recording rule names with colons", `x < on() group_left() callpulse:a_share_floor:ratio`, []string{"callpulse:a_share_floor:ratio", "x"}},
		{"comments", "a # b + c\n+ d", []string{"a", "d"}},
		{"subquery", `max_over_time(rate(a_total[1m])[10m:1m])`, []string{"a_total"}},
		{"duplicates once, sorted", `b and a and b`, []string{"a", "b"}},
		{"no metric at all", `hour(vector(time() + 3 * 3600)) >= 13`, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := metricNames(tt.expr)
			if err != nil {
				t.Fatalf("metricNames(%q): %v", tt.expr, err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("metricNames(%q) = %q, want %q", tt.expr, got, tt.want)
			}
		})
	}
}

func TestMetricNamesRejectsNameMatcher(t *testing.T) {
	for _, expr := range []string{`{__name__="x"}`, `rate({__name__=~"callpulse_.+", job="a"}[5m])`} {
		if _, err := metricNames(expr); !errors.Is(err, errNameMatcher) {
			t.Errorf("metricNames(%q) error = %v, want %v", expr, err, errNameMatcher)
		}
	}
}
