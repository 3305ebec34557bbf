package dashboards_test

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/internal/chtest"
)

// schemaDir is the node tooling (schema/): generate.mjs derives JSON Schemas
// from @grafana/schema's TypeScript types, validate.mjs checks dashboards
// against them with ajv. It needs node and `npm ci` run in schema/ (make
// test does both); without them the tests skip, or fail when CI=true.
const schemaDir = "schema"

// node runs a script of schema/ and returns its exit code and output.
func node(t *testing.T, args ...string) (int, string) {
	t.Helper()
	if _, err := exec.LookPath("node"); err != nil {
		chtest.Unavailable(t, "node is not installed (Debian package nodejs)")
	}
	if _, err := os.Stat(filepath.Join(schemaDir, "node_modules", "@grafana", "schema", "package.json")); err != nil {
		chtest.Unavailable(t, "dashboards/schema/node_modules is missing: run (cd dashboards/schema && npm ci)")
	}
	cmd := exec.Command("node", args...)
	cmd.Dir = schemaDir
	out, err := cmd.CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("node %v: %v\n%s", args, err, out)
	return 0, ""
}

// TestSchemaIsGenerated: the committed schemas are exactly what the pinned
// @grafana/schema generates.
func TestSchemaIsGenerated(t *testing.T) {
	t.Parallel()
	if code, out := node(t, "generate.mjs", "--check"); code != 0 {
		t.Errorf("generate.mjs --check: exit %d\n%s", code, out)
	}
}

// TestDashboardsMatchGrafanaSchema runs ajv on every dashboard.
func TestDashboardsMatchGrafanaSchema(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("json", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no dashboards: %v", err)
	}
	args := []string{"validate.mjs"}
	for _, f := range files {
		args = append(args, filepath.Join("..", f))
	}
	code, out := node(t, args...)
	if code != 0 {
		t.Fatalf("validate.mjs: exit %d\n%s", code, out)
	}
	for _, f := range files {
		if !strings.Contains(out, "ok "+filepath.Join("..", f)) {
			t.Errorf("validate.mjs did not report %s valid:\n%s", f, out)
		}
	}
	t.Logf("validate.mjs:\n%s", out)
}

// TestSchemaRejectsBrokenDashboards: the validation catches the mistakes
// Grafana would trip over or silently ignore (testdata/invalid, one node
// run for all of them).
func TestSchemaRejectsBrokenDashboards(t *testing.T) {
	t.Parallel()
	tests := []struct{ file, want string }{
		{"gridpos.json", "/panels/0/gridPos: must have required property 'w'"},
		{"options.json", "/panels/0/options: must NOT have additional properties (colourMode)"},
		{"options.json", "/panels/0/options/orientation: must be equal to one of the allowed values"},
		{"override.json", "(unitt): must NOT have additional properties (unitt)"},
		{"override.json", `panel type "stat" has no custom field config`},
		{"panel-type.json", `no schema for panel type "singlestat"`},
		{"schema-version.json", "/schemaVersion: 36, want 42"},
		{"threshold.json", "/thresholds/steps/0/value: must be number,null"},
		{"variable.json", "/templating/list/0/type: must be equal to one of the allowed values"},
	}
	files, err := filepath.Glob(filepath.Join("testdata", "invalid", "*.json"))
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"validate.mjs"}
	for _, f := range files {
		args = append(args, filepath.Join("..", f))
	}
	code, out := node(t, args...)
	if code != 1 {
		t.Errorf("validate.mjs on broken dashboards: exit %d, want 1", code)
	}
	for _, f := range files {
		if strings.Contains(out, "ok "+filepath.Join("..", f)) {
			t.Errorf("%s passed validation", f)
		}
	}
	for _, tt := range tests {
		prefix := filepath.Join("..", "testdata", "invalid", tt.file) + ": "
		found := false
		for _, line := range strings.Split(out, "\n") {
			found = found || (strings.HasPrefix(line, prefix) && strings.Contains(line, tt.want))
		}
		if !found {
			t.Errorf("%s: no problem reported containing %q", tt.file, tt.want)
		}
	}
	if t.Failed() {
		t.Logf("validate.mjs output:\n%s", out)
	}
}
