package client

import "testing"

func TestDerive(t *testing.T) {
	tests := []struct {
		need, budget, urgency Flag
		want                  Category
	}{
		{FlagYes, FlagYes, FlagYes, CategoryA},
		{FlagYes, FlagYes, FlagNo, CategoryB},
		{FlagYes, FlagYes, FlagUnknown, CategoryUnknown},
		{FlagYes, FlagNo, FlagYes, CategoryC},
		{FlagNo, FlagNo, FlagNo, CategoryC},
		{FlagUnknown, FlagNo, FlagUnknown, CategoryC},
		{FlagNo, FlagYes, FlagYes, CategoryUnknown},
		{FlagUnknown, FlagUnknown, FlagUnknown, CategoryUnknown},
	}
	for _, tt := range tests {
		if got := Derive(tt.need, tt.budget, tt.urgency); got != tt.want {
			t.Errorf("Derive(need=%s, budget=%s, urgency=%s) = %s, want %s", tt.need, tt.budget, tt.urgency, got, tt.want)
		}
	}
}

func TestParse(t *testing.T) {
	for in, want := range map[string]Category{"a": CategoryA, " B ": CategoryB, "C": CategoryC, "": CategoryUnknown} {
		if got, err := ParseCategory(in); err != nil || got != want {
			t.Errorf("ParseCategory(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	for _, bad := range []string{"D", "AA", "hot"} {
		if _, err := ParseCategory(bad); err == nil {
			t.Errorf("ParseCategory(%q): want an error", bad)
		}
	}
	for in, want := range map[string]Flag{"yes": FlagYes, "Да": FlagYes, "0": FlagNo, "": FlagUnknown} {
		if got, err := ParseFlag(in); err != nil || got != want {
			t.Errorf("ParseFlag(%q) = %s, %v; want %s", in, got, err, want)
		}
	}
	if _, err := ParseFlag("maybe"); err == nil {
		t.Error(`ParseFlag("maybe"): want an error`)
	}
}
