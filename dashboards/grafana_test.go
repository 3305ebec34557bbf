package dashboards_test

import (
	"fmt"
	"math"
	"regexp"
	"strings"
	"testing"
	"time"
)

// A panel query reaches a server in two steps, and the tests repeat both:
//
//  1. Grafana's frontend replaces dashboard variables (templateSrv.replace
//     with the data source's formatter): $name, ${name} and ${name:format}.
//     The ClickHouse plugin's formatter (CHDatasource.applyTemplateVariables)
//     writes a multi-value variable as 'a','b' and a single value as it is;
//     ${name:singlequote} always quotes, escaping ' as \'. The Prometheus
//     data source writes a multi-value or include-All variable as a regex
//     alternation (a|b), and All as the variable's allValue. Built-in
//     intervals ($__rate_interval, $__interval, $__range) are replaced for
//     Prometheus; names that are not variables are left alone.
//  2. For ClickHouse, the plugin's backend expands its macros (sqlds, with
//     the macros of grafana/clickhouse-datasource pkg/macros/macros.go): each
//     $__name\b with an optional parenthesised argument list (nested
//     parentheses allowed, split at top-level commas, trimmed). Times are
//     the request's range in Unix seconds:
//
//     $__timeFilter(c)    c >= toDateTime(FROM) AND c <= toDateTime(TO)
//     $__timeFilter_ms(c) c >= fromUnixTimestamp64Milli(FROMMS) AND c <= fromUnixTimestamp64Milli(TOMS)
//     $__dateFilter(c)    c >= toDate('FROMDATE') AND c <= toDate('TODATE')  (dates of the UTC instants)
//     $__fromTime, $__toTime             toDateTime(FROM), toDateTime(TO)
//     $__fromTime_ms, $__toTime_ms       fromUnixTimestamp64Milli(...)
//     $__timeInterval(c)  toStartOfInterval(toDateTime(c), INTERVAL N second), N = max(interval, 1 s)
//     $__interval_s       N
//
// Grafana's range for "today" is midnight to 23:59:59.999 of the dashboard's
// time zone, so $__timeFilter's inclusive end (truncated to the second) is
// the same set of DateTime values as analytics' [midnight, next midnight).

// varValue is the value a dashboard variable has for a test.
type varValue struct {
	values []string // selected values; several for a multi-value variable
	all    bool     // "All" selected: values are all the options
	multi  bool     // the variable is multi-value or has All
	allVal string   // the variable's allValue, if any
}

func single(v string) varValue { return varValue{values: []string{v}} }

// dsFormat is how a data source writes a variable that has no explicit
// format.
type dsFormat int

const (
	clickhouseFormat dsFormat = iota
	prometheusFormat
)

// grafanaVar is the frontend's variable syntax (templateSrv's
// variableRegex): $name, [[name:format]], ${name.fieldPath:format}.
var grafanaVar = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^}]+))?(?::([^}]+))?\}`)

// promBuiltins are the values given to Grafana's built-in interval
// variables in Prometheus queries: what Grafana computes for a data source
// with a 15 s scrape interval (timeInterval) over a few hours.
var promBuiltins = map[string]string{
	"__rate_interval": "1m",
	"__interval":      "15s",
	"__range":         "6h",
}

// interpolate does step 1 for one query text.
func interpolate(text string, vars map[string]varValue, f dsFormat) (string, error) {
	var err error
	out := grafanaVar.ReplaceAllStringFunc(text, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name, format := sub[1], ""
		switch {
		case sub[2] != "":
			err = fmt.Errorf("%s: the deprecated [[...]] syntax", m)
			return m
		case sub[4] != "":
			name, format = sub[4], sub[6]
			if sub[5] != "" {
				err = fmt.Errorf("%s: field paths are not supported here", m)
				return m
			}
		}
		v, ok := vars[name]
		if !ok {
			if b, ok := promBuiltins[name]; ok && f == prometheusFormat {
				return b
			}
			return m // not a variable: a macro for the data source, or an error found later
		}
		s, ferr := formatVar(v, format, f)
		if ferr != nil {
			err = fmt.Errorf("%s: %w", m, ferr)
		}
		return s
	})
	return out, err
}

func formatVar(v varValue, format string, f dsFormat) (string, error) {
	quote := func(esc func(string) string) string {
		q := make([]string, len(v.values))
		for i, s := range v.values {
			q[i] = "'" + esc(s) + "'"
		}
		return strings.Join(q, ",")
	}
	switch format {
	case "singlequote":
		return quote(func(s string) string { return strings.ReplaceAll(s, "'", `\'`) }), nil
	case "sqlstring":
		return quote(func(s string) string { return strings.ReplaceAll(s, "'", "''") }), nil
	case "raw":
		return strings.Join(v.values, ","), nil
	case "":
	default:
		return "", fmt.Errorf("format %q is not modelled", format)
	}
	if v.all && v.allVal != "" {
		return v.allVal, nil
	}
	switch f {
	case clickhouseFormat:
		if v.multi {
			return quote(func(s string) string { return s }), nil // the plugin does not escape
		}
		return v.values[0], nil
	default: // Prometheus
		if !v.multi {
			return v.values[0], nil
		}
		q := make([]string, len(v.values))
		for i, s := range v.values {
			q[i] = regexp.QuoteMeta(s)
		}
		return "(" + strings.Join(q, "|") + ")", nil
	}
}

// chRequest is what the ClickHouse plugin's backend knows of a query.
type chRequest struct {
	from, to time.Time
	interval time.Duration
}

type chMacro func(r chRequest, args []string) (string, error)

func toDateTime(t time.Time) string { return fmt.Sprintf("toDateTime(%d)", t.Unix()) }
func toDateTime64(t time.Time) string {
	return fmt.Sprintf("fromUnixTimestamp64Milli(%d)", t.UnixMilli())
}
func toDate(t time.Time) string { return fmt.Sprintf("toDate('%s')", t.Format(time.DateOnly)) }

func oneArg(f func(r chRequest, col string) string) chMacro {
	return func(r chRequest, args []string) (string, error) {
		if len(args) != 1 {
			return "", fmt.Errorf("want 1 argument, got %d", len(args))
		}
		return f(r, args[0]), nil
	}
}

func intervalSeconds(r chRequest) int { return int(math.Max(r.interval.Seconds(), 1)) }

// chMacros are the ClickHouse plugin's macros (pkg/macros/macros.go).
var chMacros = map[string]chMacro{
	"fromTime":    func(r chRequest, _ []string) (string, error) { return toDateTime(r.from), nil },
	"toTime":      func(r chRequest, _ []string) (string, error) { return toDateTime(r.to), nil },
	"fromTime_ms": func(r chRequest, _ []string) (string, error) { return toDateTime64(r.from), nil },
	"toTime_ms":   func(r chRequest, _ []string) (string, error) { return toDateTime64(r.to), nil },
	"timeFilter": oneArg(func(r chRequest, c string) string {
		return fmt.Sprintf("%s >= %s AND %s <= %s", c, toDateTime(r.from), c, toDateTime(r.to))
	}),
	"timeFilter_ms": oneArg(func(r chRequest, c string) string {
		return fmt.Sprintf("%s >= %s AND %s <= %s", c, toDateTime64(r.from), c, toDateTime64(r.to))
	}),
	"dateFilter": oneArg(func(r chRequest, c string) string {
		return fmt.Sprintf("%s >= %s AND %s <= %s", c, toDate(r.from.UTC()), c, toDate(r.to.UTC()))
	}),
	"timeInterval": oneArg(func(r chRequest, c string) string {
		return fmt.Sprintf("toStartOfInterval(toDateTime(%s), INTERVAL %d second)", c, intervalSeconds(r))
	}),
	"interval_s": func(r chRequest, _ []string) (string, error) { return fmt.Sprint(intervalSeconds(r)), nil },
}

// expandMacros does step 2: the plugin backend's macro expansion. Anything
// that still looks like a variable or macro afterwards is an error, as it
// would reach ClickHouse as a syntax error.
func expandMacros(sql string, r chRequest) (string, error) {
	for name, macro := range chMacros {
		re := regexp.MustCompile(`\$__` + name + `\b`)
		for {
			loc := re.FindStringIndex(sql)
			if loc == nil {
				break
			}
			args, n, err := macroArgs(sql[loc[1]:])
			if err != nil {
				return "", fmt.Errorf("$__%s: %w", name, err)
			}
			repl, err := macro(r, args)
			if err != nil {
				return "", fmt.Errorf("$__%s: %w", name, err)
			}
			sql = sql[:loc[0]] + repl + sql[loc[1]+n:]
		}
	}
	if m := regexp.MustCompile(`\$\{?\w+`).FindString(sql); m != "" {
		return "", fmt.Errorf("%s is neither a variable nor a macro of the ClickHouse plugin", m)
	}
	return sql, nil
}

// macroArgs parses a parenthesised argument list at the start of s (as
// sqlds' parseArgs): it returns the trimmed top-level arguments and the
// length of the list, or no arguments and 0 if s does not start with "(".
func macroArgs(s string) ([]string, int, error) {
	if !strings.HasPrefix(s, "(") {
		return nil, 0, nil
	}
	var args []string
	depth, start := 0, 1
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				args = append(args, strings.TrimSpace(s[start:i]))
				return args, i + 1, nil
			}
		case ',':
			if depth == 1 {
				args = append(args, strings.TrimSpace(s[start:i]))
				start = i + 1
			}
		}
	}
	return nil, 0, fmt.Errorf("no closing parenthesis")
}

// dayRange is Grafana's range for whole days from..to in loc (as now/d,
// now/M): from midnight to 23:59:59.999 of the last day.
func dayRange(t *testing.T, from, to string, loc *time.Location) chRequest {
	t.Helper()
	f, err := time.ParseInLocation(time.DateOnly, from, loc)
	if err != nil {
		t.Fatal(err)
	}
	l, err := time.ParseInLocation(time.DateOnly, to, loc)
	if err != nil {
		t.Fatal(err)
	}
	return chRequest{from: f, to: l.AddDate(0, 0, 1).Add(-time.Millisecond), interval: time.Hour}
}

func TestInterpolate(t *testing.T) {
	vars := map[string]varValue{
		"tz":       single("Europe/Moscow"),
		"job":      single("callpulse"),
		"manager":  {values: []string{"101", "o'neil"}, multi: true},
		"instance": {values: []string{"a:1", "b:2"}, all: true, multi: true, allVal: ".*"},
		"one":      {values: []string{"a.b"}, multi: true},
	}
	tests := []struct {
		in   string
		f    dsFormat
		want string
	}{
		{"toDate(x, '${tz}')", clickhouseFormat, "toDate(x, 'Europe/Moscow')"},
		{"has([${manager:singlequote}], m)", clickhouseFormat, `has(['101','o\'neil'], m)`},
		{"m IN (${manager:sqlstring})", clickhouseFormat, `m IN ('101','o''neil')`},
		{"m IN ($manager)", clickhouseFormat, `m IN ('101','o'neil')`},
		{"$__timeFilter(t) AND $nope", clickhouseFormat, "$__timeFilter(t) AND $nope"},
		{`up{job="$job", instance=~"$instance"}`, prometheusFormat, `up{job="callpulse", instance=~".*"}`},
		{`x{a=~"$one"}[$__rate_interval]`, prometheusFormat, `x{a=~"(a\.b)"}[1m]`},
		{"$__rate_interval", clickhouseFormat, "$__rate_interval"},
	}
	for _, tt := range tests {
		got, err := interpolate(tt.in, vars, tt.f)
		if err != nil || got != tt.want {
			t.Errorf("interpolate(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"[[job]]", "${job.x}", "${job:percentencode}"} {
		if _, err := interpolate(bad, vars, prometheusFormat); err == nil {
			t.Errorf("interpolate(%q): no error", bad)
		}
	}
}

func TestExpandMacros(t *testing.T) {
	moscow := mustLoad("Europe/Moscow")
	r := dayRange(t, "2026-11-20", "2026-11-20", moscow)
	r.interval = 90 * time.Second
	// 2026-11-20 00:00 Moscow = 2026-11-19T21:00Z = 1795122000.
	tests := []struct{ in, want string }{
		{"WHERE $__timeFilter(started_at)", "WHERE started_at >= toDateTime(1795122000) AND started_at <= toDateTime(1795208399)"},
		{"$__timeFilter( toDateTime(a, 'UTC') )", "toDateTime(a, 'UTC') >= toDateTime(1795122000) AND toDateTime(a, 'UTC') <= toDateTime(1795208399)"},
		{"$__timeFilter_ms(t)", "t >= fromUnixTimestamp64Milli(1795122000000) AND t <= fromUnixTimestamp64Milli(1795208399999)"},
		{"$__fromTime AND $__toTime", "toDateTime(1795122000) AND toDateTime(1795208399)"},
		{"$__dateFilter(d)", "d >= toDate('2026-11-19') AND d <= toDate('2026-11-20')"},
		{"$__timeInterval(t), $__interval_s", "toStartOfInterval(toDateTime(t), INTERVAL 90 second), 90"},
	}
	for _, tt := range tests {
		got, err := expandMacros(tt.in, r)
		if err != nil || got != tt.want {
			t.Errorf("expandMacros(%q) =\n %q, %v; want\n %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{"$__timeFilter", "$__timeFilter(a, b)", "$__timeFilter(a", "$__timeGroup(t, 1h)", "x = ${tz}", "$manager"} {
		if got, err := expandMacros(bad, r); err == nil {
			t.Errorf("expandMacros(%q) = %q, want an error", bad, got)
		}
	}
}
