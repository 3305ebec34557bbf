package deal

import (
	"strings"
	"testing"
)

func TestSourceSlug(t *testing.T) {
	for _, tt := range []struct{ raw, want string }{
		{"yandex", "yandex"},
		{"Yandex Direct", "yandex_direct"},
		{"  VK / Target  ", "vk_target"},
		{"google.ads-2024", "google.ads-2024"},
		{"Яндекс", ""},
		{"Яндекс Direct", "direct"},
		{"", ""},
		{"---", ""},
		{"utm_2024_11", "utm_2024_11"},    // six digits: a date, fine
		{"+7 (916) 123-45-67", ""},        // a phone number is never a source
		{"89161234567", ""},               // nor written nationally
		{"client 9161234567 from vk", ""}, // nor inside text
		{"campaign_1234567", ""},          // seven digits: map it in source_map
		{strings.Repeat("a", 70), strings.Repeat("a", MaxSourceLen)},
		{strings.Repeat("a", MaxSourceLen-1) + " b", strings.Repeat("a", MaxSourceLen-1)}, // no "_" left at the cut
	} {
		got := SourceSlug(tt.raw)
		if got != tt.want {
			t.Errorf("SourceSlug(%q) = %q, want %q", tt.raw, got, tt.want)
		}
		if got != "" && !sourceSlug.MatchString(got) {
			t.Errorf("SourceSlug(%q) = %q, not a valid deal source", tt.raw, got)
		}
	}
}
