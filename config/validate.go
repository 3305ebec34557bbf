package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/callpulse/callpulse/phone"
)

// targetTolerance is how far the sum of the targets may be from 1.
const targetTolerance = 0.001

var errEmpty = errors.New("must not be empty")

// validate checks c, completing it on the way: it sets the location and the
// parsed DSN, upper-cases the default region and normalises line numbers.
func (l *loader) validate(c *Config) {
	l.validateListen(c.Listen)
	l.validateDebug(c.Debug)
	l.validateTLS(&c.TLS)
	if c.DataDir == "" {
		l.fail("data_dir", errEmpty)
	}
	l.validateTimezone(c)
	norm := l.validateRegion(c)
	l.validateLog(c.Log)
	l.validateClickHouse(&c.ClickHouse)
	l.validateSizes(c)
	l.validateTargets(c.Targets)
	l.validateManagers(c.Managers)
	l.validateLines(c.Lines, norm)
	l.positive("metrics.refresh_interval", c.Metrics.RefreshInterval)
	if c.MaxConnections < 1 {
		l.fail("max_connections", errors.New("must be at least 1"))
	}
	l.validateProviders(c)
	l.validateAnalytics(c)
	l.validateReport(c)
	l.validateCRM(c)
}

func (l *loader) validateListen(addr string) {
	_, port, err := net.SplitHostPort(addr)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil {
		l.fail("listen", fmt.Errorf("invalid address %q: want host:port, such as 127.0.0.1:8080 or :8080", addr))
	}
}

// validateDebug checks debug.pprof_listen when set. Unlike listen, it must
// name its host: an empty host would serve the profiles, which need no
// token, on every interface.
func (l *loader) validateDebug(c DebugConfig) {
	if c.PprofListen == "" {
		return
	}
	host, port, err := net.SplitHostPort(c.PprofListen)
	if err == nil {
		_, err = strconv.ParseUint(port, 10, 16)
	}
	if err != nil || host == "" {
		l.fail("debug.pprof_listen", fmt.Errorf("invalid address %q: want host:port with a host, such as 127.0.0.1:6060", c.PprofListen))
	}
}

func (l *loader) validateTimezone(c *Config) {
	switch c.Timezone {
	case "":
		l.fail("timezone", errEmpty)
		return
	case "Local":
		l.fail("timezone", errors.New(`"Local" depends on the host; name an IANA zone such as Europe/Moscow`))
		return
	}
	loc, err := time.LoadLocation(c.Timezone)
	if err != nil {
		l.fail("timezone", fmt.Errorf("unknown time zone %q", c.Timezone))
		return
	}
	c.location = loc
}

// validateRegion returns a phone number normaliser for the default region,
// or nil if the region is not valid.
func (l *loader) validateRegion(c *Config) *phone.Normalizer {
	region := strings.ToUpper(c.DefaultRegion)
	norm, err := phone.NewNormalizer(region)
	if err != nil {
		l.fail("default_region", fmt.Errorf("unknown region %q: want an ISO 3166-1 alpha-2 code with a calling code, such as RU", c.DefaultRegion))
		return nil
	}
	c.DefaultRegion = region
	return norm
}

func (l *loader) validateLog(c LogConfig) {
	switch c.Level {
	case "debug", "info", "warn", "error":
	default:
		l.fail("log.level", fmt.Errorf("unknown level %q: want debug, info, warn or error", c.Level))
	}
	switch c.Format {
	case "text", "json":
	default:
		l.fail("log.format", fmt.Errorf("unknown format %q: want text or json", c.Format))
	}
}

func (l *loader) validateClickHouse(c *ClickHouseConfig) {
	addr, db, err := parseDSN(c.DSN)
	if err != nil {
		l.fail("clickhouse.dsn", err)
	} else {
		c.addr, c.database = addr, db
	}
	if c.BatchRows <= 0 {
		l.fail("clickhouse.batch_rows", fmt.Errorf("must be positive, got %d", c.BatchRows))
	}
	l.positive("clickhouse.batch_age", c.BatchAge)
	l.positive("clickhouse.dial_timeout", c.DialTimeout)
	l.positive("clickhouse.query_timeout", c.QueryTimeout)
	if c.Cluster != "" && !isWord(c.Cluster) {
		l.fail("clickhouse.cluster", fmt.Errorf("invalid cluster name %q: want letters, digits and _", c.Cluster))
	}
}

// parseDSN checks that dsn is clickhouse://[user[:password]@]host:port/db[?query]
// and returns host:port and the database. Its errors never quote the DSN, as
// it may hold a password.
func parseDSN(dsn string) (addr, db string, err error) {
	const form = "clickhouse://[user[:password]@]host:port/database[?options]"
	if dsn == "" {
		return "", "", errEmpty
	}
	u, err := url.Parse(dsn)
	if err != nil {
		// url.Parse's errors can quote parts of the password.
		return "", "", fmt.Errorf("not a URL of the form %s", form)
	}
	if u.Scheme != "clickhouse" {
		return "", "", fmt.Errorf("scheme %q is not clickhouse: want %s", u.Scheme, form)
	}
	host, port, err := net.SplitHostPort(u.Host)
	if err != nil || host == "" {
		return "", "", fmt.Errorf("host %q is not host:port: want %s", u.Host, form)
	}
	if p, err := strconv.ParseUint(port, 10, 16); err != nil || p == 0 {
		return "", "", fmt.Errorf("invalid port %q", port)
	}
	db = strings.TrimPrefix(u.Path, "/")
	if db == "" {
		return "", "", fmt.Errorf("no database: want %s", form)
	}
	if !isWord(db) {
		return "", "", fmt.Errorf("invalid database name %q: want letters, digits and _", db)
	}
	if _, err := url.ParseQuery(u.RawQuery); err != nil {
		return "", "", errors.New("invalid options after ?")
	}
	return u.Host, db, nil
}

func (l *loader) validateSizes(c *Config) {
	for _, s := range []struct {
		path string
		size ByteSize
	}{
		{"spool.max_bytes", c.Spool.MaxBytes},
		{"spool.segment_bytes", c.Spool.SegmentBytes},
		{"webhooks.max_body_bytes", c.Webhooks.MaxBodyBytes},
	} {
		if s.size <= 0 {
			l.fail(s.path, fmt.Errorf("must be positive, got %d", s.size))
		}
	}
	if c.Spool.SegmentBytes > c.Spool.MaxBytes {
		l.fail("spool.segment_bytes", fmt.Errorf("%v is more than spool.max_bytes (%v)", c.Spool.SegmentBytes, c.Spool.MaxBytes))
	}
}

func (l *loader) validateTargets(t Targets) {
	ok := true
	for _, s := range []struct {
		name  string
		share float64
	}{{"A", t.A}, {"B", t.B}, {"C", t.C}} {
		if !(s.share >= 0 && s.share <= 1) { // also rejects NaN
			l.fail("targets."+s.name, fmt.Errorf("must be between 0 and 1, got %v", s.share))
			ok = false
		}
	}
	if sum := t.Sum(); ok && math.Abs(sum-1) > targetTolerance {
		l.fail("targets", fmt.Errorf("A+B+C must be 1 (±%v), got %v", targetTolerance, math.Round(sum*1e6)/1e6))
	}
}

func (l *loader) validateManagers(ms []Manager) {
	ids := make(map[string]string)          // id → path of its first use
	owners := make(map[string]extensionUse) // extension → its first use
	for i, m := range ms {
		p := fmt.Sprintf("managers[%d]", i)
		if first, dup := ids[m.ID]; dup {
			l.fail(p+".id", fmt.Errorf("duplicate id %q (first at line %d)", m.ID, l.line(first)))
		} else if !isSlug(m.ID, 32, "_-") {
			l.fail(p+".id", fmt.Errorf("invalid id %q: want 1 to 32 characters from a-z, 0-9, _ and -", m.ID))
		} else {
			ids[m.ID] = p + ".id"
		}
		if m.Name == "" {
			l.fail(p+".name", errEmpty)
		}
		if len(m.Extensions) == 0 {
			l.fail(p+".extensions", errors.New("must list at least one extension"))
		}
		for j, ext := range m.Extensions {
			ep := fmt.Sprintf("%s.extensions[%d]", p, j)
			if ext == "" || strings.ContainsFunc(ext, unicode.IsSpace) {
				l.fail(ep, fmt.Errorf("invalid extension %q: must be non-empty and without white space", ext))
				continue
			}
			first, dup := owners[ext]
			switch {
			case !dup:
				owners[ext] = extensionUse{manager: i, path: ep}
			case first.manager == i:
				l.fail(ep, fmt.Errorf("extension %q listed twice (first at line %d)", ext, l.line(first.path)))
			default:
				l.fail(ep, fmt.Errorf("extension %q already belongs to manager %q (line %d)", ext, ms[first.manager].ID, l.line(first.path)))
			}
		}
	}
}

type extensionUse struct {
	manager int    // index in Config.Managers
	path    string // YAML path
}

// validateLines checks the lines and normalises their numbers with norm. If
// norm is nil (the default region is invalid) numbers are not checked.
func (l *loader) validateLines(lines []Line, norm *phone.Normalizer) {
	seen := make(map[string]string) // E.164 → path of its first use
	for i := range lines {
		ln := &lines[i]
		p := fmt.Sprintf("lines[%d]", i)
		if !isSlug(ln.Source, 64, "_.-") {
			l.fail(p+".source", fmt.Errorf("invalid source %q: want 1 to 64 characters from a-z, 0-9, _, . and -", ln.Source))
		}
		if norm == nil {
			continue
		}
		e164, err := norm.Normalize(ln.Phone)
		if err != nil {
			l.fail(p+".phone", fmt.Errorf("%q: %w", ln.Phone, err))
			continue
		}
		if first, dup := seen[e164]; dup {
			l.fail(p+".phone", fmt.Errorf("duplicate number %s, written %q (first at line %d)", e164, ln.Phone, l.line(first)))
			continue
		}
		seen[e164] = p + ".phone"
		ln.Phone = e164
	}
}

// positive records a problem if d is not positive.
func (l *loader) positive(path string, d time.Duration) {
	if d <= 0 {
		l.fail(path, fmt.Errorf("must be positive, got %v", d))
	}
}

// isSlug reports whether s is 1 to maxLen characters from a-z, 0-9 and extra.
func isSlug(s string, maxLen int, extra string) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for _, r := range s {
		if !('a' <= r && r <= 'z' || '0' <= r && r <= '9' || strings.ContainsRune(extra, r)) {
			return false
		}
	}
	return true
}

// isWord reports whether s is made of ASCII letters, digits and _.
func isWord(s string) bool {
	for _, r := range s {
		if !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_') {
			return false
		}
	}
	return s != ""
}
