package phone

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
)

// agree fails t unless fast declines s or gives what phonenumbers gives.
func agree(t *testing.T, n *Normalizer, s string) bool {
	t.Helper()
	got, ok := n.fast(s)
	if !ok {
		return false
	}
	want, err := n.parse(s)
	if err != nil || got != want {
		t.Errorf("region %s, %q: fast path %q, phonenumbers %q, %v", n.region, s, got, want, err)
	}
	return true
}

// TestFastAgreesWithPhonenumbers runs every spelling fast might recognise —
// ten or eleven digits, with or without "+" — for every four-digit prefix,
// with a random tail, in regions with and without the national forms.
func TestFastAgreesWithPhonenumbers(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, region := range []string{"RU", "KZ", "US"} {
		n, err := NewNormalizer(region)
		if err != nil {
			t.Fatal(err)
		}
		handled := 0
		for prefix := range 10_000 {
			for _, digits := range []int{10, 11} {
				num := fmt.Sprintf("%04d%0*d", prefix, digits-4, rng.IntN(1_000_000))[:digits]
				for _, s := range []string{num, "+" + num} {
					if agree(t, n, s) {
						handled++
					}
				}
			}
		}
		t.Logf("region %s: the fast path took %d of %d spellings", region, handled, 4*10_000)
	}
}

// TestFastWithSeparators inserts spaces, hyphens and parentheses into
// numbers of every form.
func TestFastWithSeparators(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	n := newRU(t)
	seps := []string{" ", "-", "(", ")", " (", ") ", "--", "  "}
	for _, form := range []string{"+7", "8", "7", "", "+8", "810", "+"} {
		for range 2_000 {
			digits := 10
			if strings.HasPrefix(form, "+") && form != "+" {
				digits = 11 - (len(form) - 1)
			}
			var b strings.Builder
			b.WriteString(form)
			for range digits {
				if rng.IntN(3) == 0 {
					b.WriteString(seps[rng.IntN(len(seps))])
				}
				b.WriteByte(byte('0' + rng.IntN(10)))
			}
			if rng.IntN(4) == 0 {
				b.WriteString(seps[rng.IntN(len(seps))])
			}
			agree(t, n, b.String())
		}
	}
}

// TestFastTakesTheCommonSpellings guards the speed-up itself: these must
// not fall through to phonenumbers.
func TestFastTakesTheCommonSpellings(t *testing.T) {
	tests := []struct{ in, want string }{
		{"+79161234567", "+79161234567"},
		{"89161234567", "+79161234567"},
		{"79161234567", "+79161234567"},
		{"9161234567", "+79161234567"},
		{"8 (916) 123-45-67", "+79161234567"},
		{"+7 (495) 111-22-33", "+74951112233"},
		{"84951112233", "+74951112233"},
	}
	n := newRU(t)
	for _, tt := range tests {
		if got, ok := n.fast(tt.in); !ok || got != tt.want {
			t.Errorf("fast(%q) = %q, %v; want %q", tt.in, got, ok, tt.want)
		}
		agree(t, n, tt.in)
	}
	for _, in := range []string{"81012345678", "+375291234567", "101", "+7916", "8 10 916 1234567", "(916) 123-45-67"} {
		if got, ok := n.fast(in); ok {
			t.Errorf("fast(%q) = %q; want it left to phonenumbers", in, got)
		}
	}
}

func FuzzFast(f *testing.F) {
	for _, s := range []string{"+79161234567", "89161234567", "79161234567", "9161234567", "8 (916) 123-45-67",
		"+7 916 123-45-67", "81012345678", "+375291234567", "+7(916)1234567-", "7-3-1234567-89"} {
		f.Add(s)
	}
	n := newRU(f)
	f.Fuzz(func(t *testing.T, s string) {
		agree(t, n, strings.TrimSpace(s))
	})
}
