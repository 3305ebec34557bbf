package config

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse checks that Parse never panics, returns either a configuration
// or Errors, and that a configuration it returns is complete.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/bad/*.yml")
	seeds = append(seeds, "testdata/good.yml", "../deploy/callpulse.example.yml")
	for _, path := range seeds {
		data, err := os.ReadFile(path)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, "testdata/fuzz.yml", noEnv)
		if err != nil {
			var errs Errors
			if !errors.As(err, &errs) || len(errs) == 0 {
				t.Fatalf("error %v (%T) is not non-empty Errors", err, err)
			}
			return
		}
		if c.Location() == nil || c.ClickHouse.Addr() == "" || c.ClickHouse.Database() == "" {
			t.Fatalf("incomplete configuration: %+v", c)
		}
		if _, err := ParseByteSize(c.Spool.MaxBytes.String()); err != nil {
			t.Fatalf("spool.max_bytes %d does not format back: %v", c.Spool.MaxBytes, err)
		}
	})
}
