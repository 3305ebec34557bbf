package phone

import (
	"errors"
	"testing"
)

func newRU(t testing.TB) *Normalizer {
	t.Helper()
	n, err := NewNormalizer("ru")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestNormalize(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+79161234567", "+79161234567"},
		{"79161234567", "+79161234567"},
		{"89161234567", "+79161234567"},
		{"8 (916) 123-45-67", "+79161234567"},
		{" +7 916 123 45 67 ", "+79161234567"},
		{"+375291234567", "+375291234567"},
		{"+442071234567", "+442071234567"},
		{"+390612345678", "+390612345678"}, // Italian leading zero
		{"101", ""},
		{"+7916", ""},
		{"abc", ""},
		{"", ""},
		{"+999123456789", ""}, // no such country code
	}
	n := newRU(t)
	for _, tt := range tests {
		got, err := n.Normalize(tt.in)
		if tt.want == "" {
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("Normalize(%q) = %q, %v; want ErrInvalid", tt.in, got, err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	if _, err := NewNormalizer("XX"); err == nil {
		t.Error("NewNormalizer(XX): want an error")
	}
}

func TestCacheGivesTheSameAnswers(t *testing.T) {
	n := newRU(t)
	for range 2 { // the second round is served from the memo
		for _, in := range []string{"89161234567", "+79161234567", "8 (495) 111-22-33"} {
			if got, err := n.Normalize(in); err != nil || got[0] != '+' {
				t.Errorf("Normalize(%q) = %q, %v", in, got, err)
			}
		}
		if _, err := n.Normalize("12345"); !errors.Is(err, ErrInvalid) {
			t.Error("an invalid number is accepted (it must not be cached as valid)")
		}
	}
}

func BenchmarkNormalize(b *testing.B) {
	n := newRU(b)
	for _, in := range []string{"+79161234567", "89161234567"} {
		b.Run(in, func(b *testing.B) {
			for b.Loop() {
				if _, err := n.Normalize(in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
