// Package prometheus_test checks the Prometheus files in this directory:
// alerts.yml (alerting rules), alerts_test.yml (their promtool unit tests)
// and prometheus.yml (an example configuration loading them).
//
// promtool (Debian package prometheus) validates and unit-tests them; the Go
// tests add what promtool cannot know: that every metric the rules use is
// one the daemon registers, that every alert follows the conventions of
// alerts.yml, links to its runbook in docs/operations.md and is tested both
// firing and not firing.
package prometheus_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/callpulse/callpulse/internal/chtest"
)

const (
	rulesFile  = "alerts.yml"
	testsFile  = "alerts_test.yml"
	configFile = "prometheus.yml"
	runbookDoc = "docs/operations.md"
)

// pendingMetrics are metrics alerts.yml uses before the daemon registers
// them, each with the alert that uses it; the alert must work without them.
// Once one is registered, TestAlertMetricsAreRegistered fails until its
// entry here, and the alert's fallback for daemons without it, are deleted.
var pendingMetrics = map[string]string{}

// builtinMetrics are series Prometheus itself makes for every target.
var builtinMetrics = []string{"up"}

type ruleFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []rule `yaml:"rules"`
	} `yaml:"groups"`
}

type rule struct {
	Record      string            `yaml:"record"`
	Alert       string            `yaml:"alert"`
	Expr        string            `yaml:"expr"`
	For         string            `yaml:"for"`
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
}

// name is the rule's alert or record name.
func (r rule) name() string { return r.Alert + r.Record }

type ruleTestFile struct {
	Tests []struct {
		Name          string `yaml:"name"`
		AlertRuleTest []struct {
			EvalTime  string `yaml:"eval_time"`
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func TestPromtool(t *testing.T) {
	if _, err := exec.LookPath("promtool"); err != nil {
		chtest.Unavailable(t, "promtool is not installed (Debian package prometheus)")
	}
	for _, args := range [][]string{
		{"check", "rules", "--lint=all", "--lint-fatal", rulesFile},
		{"test", "rules", testsFile},
		{"check", "config", "--lint=all", "--lint-fatal", configFile},
	} {
		t.Run(strings.Join(args[:2], "-"), func(t *testing.T) {
			out, err := exec.CommandContext(t.Context(), "promtool", args...).CombinedOutput()
			if err != nil {
				t.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		})
	}
}

// TestAlertMetricsAreRegistered fails on a rule expression that uses a
// metric the daemon does not register: a typo or a renamed metric would
// otherwise make an alert silently never fire.
func TestAlertMetricsAreRegistered(t *testing.T) {
	rules := loadRules(t)
	registered := registeredMetrics(t)
	known := map[string]bool{}
	for name := range registered {
		known[name] = true
	}
	for _, name := range builtinMetrics {
		known[name] = true
	}
	for name, use := range pendingMetrics {
		if registered[name] {
			t.Errorf("%s is registered now: delete it from pendingMetrics, and from %s the fallback for daemons without it", name, use)
		}
		known[name] = true
	}
	for _, r := range rules {
		if r.Record != "" {
			known[r.Record] = true
		}
	}
	for _, r := range rules {
		names, err := metricNames(r.Expr)
		if err != nil {
			t.Errorf("%s: %v", r.name(), err)
			continue
		}
		for _, name := range names {
			if !known[name] {
				t.Errorf("%s uses %s, which the daemon does not register (no `Name: %q` in its Go sources)", r.name(), name, name)
			}
		}
	}
}

// anchorPunct is what GitHub drops from a heading to make its anchor.
var anchorPunct = regexp.MustCompile(`[^\p{L}\p{N}\s_-]`)

// TestAlertConventions checks what alerts.yml promises of every alert.
func TestAlertConventions(t *testing.T) {
	rules := loadRules(t)
	anchors := docAnchors(t)
	tested := alertTests(t)
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.name()] {
			t.Errorf("%s is defined twice", r.name())
		}
		seen[r.name()] = true
		if r.Record != "" {
			if !strings.Contains(r.Record, ":") {
				t.Errorf("recording rule %s: name it level:metric:operations, with colons, so it cannot clash with a daemon metric", r.Record)
			}
			continue
		}
		if r.For == "" {
			t.Errorf("%s has no for:", r.Alert)
		}
		if s := r.Labels["severity"]; s != "warning" && s != "critical" {
			t.Errorf("%s: severity %q, want warning or critical", r.Alert, s)
		}
		for _, key := range []string{"summary", "description", "runbook"} {
			if strings.TrimSpace(r.Annotations[key]) == "" {
				t.Errorf("%s has no %s annotation", r.Alert, key)
			}
		}
		if rb := r.Annotations["runbook"]; rb != "" {
			doc, anchor, _ := strings.Cut(rb, "#")
			if doc != runbookDoc || !anchors[anchor] {
				t.Errorf("%s: runbook %q is not a section of %s", r.Alert, rb, runbookDoc)
			}
		}
		if got := tested[r.Alert]; !got.fires || !got.quiet {
			t.Errorf("%s: %s must test it both firing (exp_alerts) and not firing (exp_alerts: []); firing tested: %t, not firing tested: %t",
				r.Alert, testsFile, got.fires, got.quiet)
		}
	}
	for name := range tested {
		if !seen[name] {
			t.Errorf("%s tests %s, which %s does not define", testsFile, name, rulesFile)
		}
	}
}

func loadRules(t *testing.T) []rule {
	t.Helper()
	var f ruleFile
	readYAML(t, rulesFile, &f)
	var rules []rule
	for _, g := range f.Groups {
		rules = append(rules, g.Rules...)
	}
	if len(rules) == 0 {
		t.Fatalf("%s has no rules", rulesFile)
	}
	return rules
}

type coverage struct{ fires, quiet bool }

// alertTests reports, per alert name, whether the unit tests expect it to
// fire somewhere and not to fire somewhere.
func alertTests(t *testing.T) map[string]coverage {
	t.Helper()
	var f ruleTestFile
	readYAML(t, testsFile, &f)
	cov := map[string]coverage{}
	for _, test := range f.Tests {
		for _, at := range test.AlertRuleTest {
			c := cov[at.Alertname]
			if len(at.ExpAlerts) > 0 {
				c.fires = true
			} else {
				c.quiet = true
			}
			cov[at.Alertname] = c
		}
	}
	return cov
}

// docAnchors returns the anchors GitHub gives the headings of the runbook
// document: lower case, punctuation dropped, spaces as hyphens.
func docAnchors(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(moduleRoot(t), runbookDoc))
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	inFence := false
	for line := range strings.Lines(string(src)) {
		if strings.HasPrefix(line, "```") {
			inFence = !inFence
		}
		text, ok := strings.CutPrefix(strings.TrimLeft(line, "#"), " ")
		if inFence || !ok || !strings.HasPrefix(line, "#") {
			continue
		}
		slug := anchorPunct.ReplaceAllString(strings.ToLower(strings.TrimSpace(text)), "")
		anchors[strings.ReplaceAll(slug, " ", "-")] = true
	}
	return anchors
}

func readYAML(t *testing.T, name string, v any) {
	t.Helper()
	src, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(src, v); err != nil {
		t.Fatalf("parse %s: %v", name, err)
	}
}
