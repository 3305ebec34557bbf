package config

import (
	"math"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
)

func TestParseByteSize(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr string // substring; "" means no error
	}{
		{"0", 0, ""},
		{"512", 512, ""},
		{"512B", 512, ""},
		{"10KB", 10_000, ""},
		{"10 KB", 10_000, ""},
		{"3MB", 3_000_000, ""},
		{"2GB", 2_000_000_000, ""},
		{"512KiB", 512 << 10, ""},
		{"64MiB", 64 << 20, ""},
		{" 1GiB ", 1 << 30, ""},
		{"8589934591GiB", 8589934591 << 30, ""},
		{"8589934592GiB", 0, "too large"},
		{"99999999999999999999", 0, "too large"},
		{"", 0, "want a whole number"},
		{"GiB", 0, "want a whole number"},
		{"-1", 0, "want a whole number"},
		{"+1", 0, "want a whole number"},
		{"1.5GiB", 0, "want a whole number"},
		{"1GiB2", 0, "want a whole number"},
		{"1gib", 0, `unknown unit "gib"`},
		{"1Kb", 0, `unknown unit "Kb"`},
		{"1TiB", 0, `unknown unit "TiB"`},
	}
	for _, tt := range tests {
		got, err := ParseByteSize(tt.in)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ParseByteSize(%q): %v", tt.in, err)
		case tt.wantErr == "" && got != tt.want:
			t.Errorf("ParseByteSize(%q) = %d, want %d", tt.in, got, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ParseByteSize(%q) = %d, %v; want error containing %q", tt.in, got, err, tt.wantErr)
		}
	}
}

func TestByteSizeString(t *testing.T) {
	tests := []struct {
		in   ByteSize
		want string
	}{
		{0, "0B"},
		{1, "1B"},
		{1023, "1023B"},
		{1000, "1KB"},
		{1024, "1KiB"},
		{1536, "1536B"},
		{64 * MiB, "64MiB"},
		{GiB, "1GiB"},
		{3 * GB, "3GB"},
		{1500 * KB, "1500KB"},
		{ByteSize(math.MaxInt64), "9223372036854775807B"},
	}
	for _, tt := range tests {
		if got := tt.in.String(); got != tt.want {
			t.Errorf("ByteSize(%d).String() = %q, want %q", int64(tt.in), got, tt.want)
		}
		if tt.in > 0 {
			back, err := ParseByteSize(tt.in.String())
			if err != nil || back != tt.in {
				t.Errorf("ParseByteSize(%q) = %d, %v; want %d", tt.in.String(), back, err, tt.in)
			}
		}
	}
}

func TestByteSizeYAML(t *testing.T) {
	tests := []struct {
		in      string
		want    ByteSize
		wantErr string
	}{
		{"1048576", MiB, ""},
		{"0x400", KiB, ""},
		{"1MiB", MiB, ""},
		{`"1024"`, KiB, ""},
		{"-1", 0, "must not be negative"},
		{"1.5", 0, `invalid byte size "1.5"`},
		{"true", 0, `invalid byte size "true"`},
		{"[1]", 0, "expected a byte size, got a sequence"},
	}
	for _, tt := range tests {
		var got ByteSize
		err := yaml.Unmarshal([]byte(tt.in), &got)
		switch {
		case tt.wantErr == "" && (err != nil || got != tt.want):
			t.Errorf("yaml %s = %d, %v; want %d", tt.in, got, err, tt.want)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("yaml %s = %d, %v; want error containing %q", tt.in, got, err, tt.wantErr)
		}
	}
}
