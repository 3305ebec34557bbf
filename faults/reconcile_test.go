package faults

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// Each fixture in testdata/reconcile is what a run sent and observed, and
// the counts the reconciliation must give.
func TestReconcile(t *testing.T) {
	files, err := filepath.Glob("testdata/reconcile/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			b, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var fx struct {
				About    string     `json:"about"`
				Sent     []SentCall `json:"sent"`
				Observed Observed   `json:"observed"`
				Want     Counts     `json:"want"`
			}
			if err := json.Unmarshal(b, &fx); err != nil {
				t.Fatal(err)
			}
			got := Reconcile(fx.Sent, fx.Observed)
			examples := got.Examples
			got.Examples = nil
			if !reflect.DeepEqual(got, fx.Want) {
				t.Errorf("%s:\n got %+v\nwant %+v\nexamples: %q", fx.About, got, fx.Want, examples)
			}
			if got.OK() != (len(examples) == 0) {
				t.Errorf("OK() = %v with examples %q", got.OK(), examples)
			}
		})
	}
}
