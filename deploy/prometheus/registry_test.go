package prometheus_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// registeredMetric matches the metric definitions of the daemon: every one
// is a client_golang *Opts literal whose first field is the name, e.g.
//
//	f.NewHistogram(prometheus.HistogramOpts{
//		Name: "callpulse_spool_fsync_duration_seconds",
var registeredMetric = regexp.MustCompile(`(?:(Counter|Gauge|Histogram|Summary|Untyped)Opts\{\s*)?Name:\s*"(callpulse_[A-Za-z0-9_]+)"`)

// seriesSuffixes are the series a histogram or summary exports besides its
// name.
var seriesSuffixes = map[string][]string{
	"Histogram": {"_bucket", "_sum", "_count"},
	"Summary":   {"_sum", "_count"},
}

// registeredMetrics returns the names of the series the daemon can export,
// found statically: every `Name: "callpulse_..."` in the module's non-test
// Go files, plus _bucket, _sum and _count for histograms and summaries. It
// is an honest approximation of building the registry: a metric defined
// some other way (prometheus.NewDesc, a name built at run time) is missed
// and shows up as unknown, never the other way round.
func registeredMetrics(t *testing.T) map[string]bool {
	t.Helper()
	root := moduleRoot(t)
	names := map[string]bool{}
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != root && (strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "vendor") {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil || !strings.Contains(string(src), `"callpulse_`) {
			return err
		}
		for _, m := range registeredMetric.FindAllStringSubmatch(string(src), -1) {
			names[m[2]] = true
			for _, suffix := range seriesSuffixes[m[1]] {
				names[m[2]+suffix] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("find registered metrics under %s: %v", root, err)
	}
	return names
}

// moduleRoot returns the directory of the go.mod above the working directory
// (go test runs in the package's directory).
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		} else if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// TestRegisteredMetrics guards the static search itself: if the daemon's
// way of defining metrics changed and the pattern found nothing, every name
// in the rules would look unknown for the wrong reason.
func TestRegisteredMetrics(t *testing.T) {
	got := registeredMetrics(t)
	for _, name := range []string{
		"callpulse_spool_bytes",                        // a gauge
		"callpulse_spool_append_errors_total",          // a counter vector
		"callpulse_live_dropped_subscribers_total",     // defined in app, not in a metrics.go
		"callpulse_spool_fsync_duration_seconds_count", // a histogram's series
	} {
		if !got[name] {
			t.Errorf("registeredMetrics() lacks %s", name)
		}
	}
	for _, name := range []string{"callpulse_spool_bytes_count", "callpulse_spool_bytes_bucket"} {
		if got[name] {
			t.Errorf("registeredMetrics() has %s, but callpulse_spool_bytes is a gauge", name)
		}
	}
}
