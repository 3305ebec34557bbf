package simulate

import (
	"bytes"
	"encoding/csv"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
	"unicode"

	"github.com/nyaruka/phonenumbers"
)

// importedCategory applies the importer's documented rule to a CSV row: an
// explicit category, else A = need+budget+urgency, B = need+budget without
// urgency, C = no budget, else unknown ("").
func importedCategory(c Client) string {
	if c.Category != "" {
		return c.Category
	}
	switch {
	case c.Budget == "no":
		return "C"
	case c.Need == "yes" && c.Budget == "yes" && c.Urgency == "yes":
		return "A"
	case c.Need == "yes" && c.Budget == "yes" && c.Urgency == "no":
		return "B"
	case c.Need == "yes" && c.Budget == "yes":
		// Urgency not asked: the rule is ambiguous, so Clients must not
		// write this.
		return "ambiguous"
	}
	return ""
}

func TestClientsDeterministic(t *testing.T) {
	managers := []string{"101", "102"}
	a, b := Clients(42, 100, managers), Clients(42, 100, managers)
	if !reflect.DeepEqual(a, b) {
		t.Error("Clients(42, ...) differs between calls")
	}
	if reflect.DeepEqual(a, Clients(43, 100, managers)) {
		t.Error("Clients(43, ...) equals Clients(42, ...)")
	}
	if got := Clients(42, 0, managers); len(got) != 0 {
		t.Errorf("Clients(42, 0, ...) returned %d clients", len(got))
	}
}

// demoSources are the ad source slugs of the demo configuration.
var demoSources = []string{"yandex_direct", "vk_ads", "avito", "seo", "referral"}

func TestClientsMix(t *testing.T) {
	const n = 2000
	managers := []string{"101", "102", "103"}
	clients := Clients(1, n, managers)
	if len(clients) != n {
		t.Fatalf("got %d clients, want %d", len(clients), n)
	}

	categories := map[string]int{}
	var derived, noSource, graded int
	phones := map[string]bool{}
	for i, c := range clients {
		categories[importedCategory(c)]++
		if cat := importedCategory(c); cat != "" {
			graded++
			if c.Category == "" {
				derived++
			}
		}
		if c.Source == "" {
			noSource++
		} else if !slices.Contains(demoSources, c.Source) {
			t.Errorf("source %q is not one of the demo sources", c.Source)
		}
		if !slices.Contains(managers, c.Manager) {
			t.Errorf("manager %q is not one of %v", c.Manager, managers)
		}
		if !isCyrillicName(c.Name) {
			t.Errorf("name %q is not a Russian name", c.Name)
		}
		if phones[c.Phone] {
			t.Errorf("phone %s given to two clients", c.Phone)
		}
		phones[c.Phone] = true
		if !mobileRE.MatchString(c.Phone) {
			t.Errorf("phone %q is not +79xxxxxxxxx", c.Phone)
		} else if i < 200 { // libphonenumber is slow under the race detector
			checkMobile(t, c.Phone)
		}
	}

	share := func(k int) float64 { return float64(k) / n }
	for _, tc := range []struct {
		what     string
		got      float64
		min, max float64
	}{
		{"A", share(categories["A"]), 0.20, 0.30},
		{"B", share(categories["B"]), 0.30, 0.40},
		{"C", share(categories["C"]), 0.15, 0.25},
		{"unknown", share(categories[""]), 0.15, 0.25},
		{"ambiguous", share(categories["ambiguous"]), 0, 0},
		{"graded with empty category", float64(derived) / float64(graded), 0.25, 0.42},
		{"without source", share(noSource), 0.18, 0.32},
	} {
		if tc.got < tc.min || tc.got > tc.max {
			t.Errorf("share of %s clients = %.3f, want %.2f–%.2f", tc.what, tc.got, tc.min, tc.max)
		}
	}
}

func TestClientsWithoutManagers(t *testing.T) {
	for _, c := range Clients(1, 20, nil) {
		if c.Manager != "" {
			t.Fatalf("manager %q with no managers given", c.Manager)
		}
	}
}

// checkMobile fails the test unless p is a valid Russian mobile number in
// E.164 form.
func checkMobile(t *testing.T, p string) {
	t.Helper()
	if !mobileRE.MatchString(p) {
		t.Errorf("phone %q is not +79xxxxxxxxx", p)
		return
	}
	num, err := phonenumbers.Parse(p, "RU")
	if err != nil || !phonenumbers.IsValidNumberForRegion(num, "RU") ||
		phonenumbers.GetNumberType(num) != phonenumbers.MOBILE ||
		phonenumbers.Format(num, phonenumbers.E164) != p {
		t.Errorf("phone %s is not a valid Russian mobile number in E.164 (err %v)", p, err)
	}
}

func isCyrillicName(s string) bool {
	letters := 0
	for _, r := range s {
		switch {
		case unicode.Is(unicode.Cyrillic, r):
			letters++
		case r == ' ' || r == '.' || r == '«' || r == '»':
		default:
			return false
		}
	}
	return letters >= 3
}

func TestWriteClientsCSV(t *testing.T) {
	for _, n := range []int{0, 1, 250} {
		clients := Clients(9, n, []string{"101", "102"})
		var buf bytes.Buffer
		if err := WriteClientsCSV(&buf, clients); err != nil {
			t.Fatalf("WriteClientsCSV: %v", err)
		}
		text := buf.String()
		if header, _, _ := strings.Cut(text, "\n"); header != "phone,name,category,need,budget,urgency,source,manager" {
			t.Errorf("header = %q", header)
		}

		r := csv.NewReader(&buf)
		r.FieldsPerRecord = 8
		records, err := r.ReadAll()
		if err != nil {
			t.Fatalf("read back %d clients: %v", n, err)
		}
		if len(records) != n+1 {
			t.Fatalf("%d clients: %d records, want %d", n, len(records), n+1)
		}
		var back []Client
		for _, rec := range records[1:] {
			back = append(back, Client{rec[0], rec[1], rec[2], rec[3], rec[4], rec[5], rec[6], rec[7]})
		}
		if !slices.Equal(back, clients) {
			t.Errorf("%d clients do not round-trip through CSV", n)
		}
	}
}

func TestWriteClientsCSVError(t *testing.T) {
	err := WriteClientsCSV(failingWriter{}, Clients(1, 3, nil))
	if err == nil {
		t.Fatal("WriteClientsCSV to a failing writer returned nil")
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, io.ErrClosedPipe }
