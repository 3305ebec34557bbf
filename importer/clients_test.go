package importer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/phone"
)

func normalizer(t *testing.T) *phone.Normalizer {
	t.Helper()
	n, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func readFixture(t *testing.T, name string) ([]client.Client, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "clients", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ReadClients(f, normalizer(t))
}

func TestReadClientsGood(t *testing.T) {
	got, err := readFixture(t, "good.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []client.Client{
		{Phone: "+79161234567", Name: "Иван Петров", Category: client.CategoryA, Need: client.FlagUnknown, Budget: client.FlagUnknown, Urgency: client.FlagUnknown, Source: "yandex_direct", Manager: "101"},
		{Phone: "+79167654321", Name: "Мария Сидорова", Category: client.CategoryB, Need: client.FlagYes, Budget: client.FlagYes, Urgency: client.FlagNo, Manager: "102"},
		{Phone: "+79031112233", Name: "ООО Ромашка", Category: client.CategoryC, Need: client.FlagYes, Budget: client.FlagNo, Urgency: client.FlagUnknown, Source: "vk_ads", Manager: "101"},
		{Phone: "+79260000001", Name: "Без оценки", Category: client.CategoryUnknown, Need: client.FlagUnknown, Budget: client.FlagUnknown, Urgency: client.FlagUnknown},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadClients:\n got %+v\nwant %+v", got, want)
	}
}

func TestReadClientsExcelExport(t *testing.T) {
	got, err := readFixture(t, "semicolon_bom.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Phone != "+79161234567" || got[0].Category != client.CategoryB || got[0].Manager != "101" {
		t.Errorf("got %+v", got)
	}
}

func TestReadClientsBad(t *testing.T) {
	tests := []struct {
		file string
		want string // the one error line expected
	}{
		{"bad_category.csv", `line 3: category: category "D": want A, B, C or empty`},
		{"bad_phone.csv", "line 3: phone: wrong length for its country: not a valid phone number"},
		{"duplicate_phone.csv", "line 3: phone: same client as line 2"},
		{"unknown_column.csv", `line 1: unknown column "categroy"`},
		{"missing_phone.csv", `line 1: missing column "phone"`},
		{"bad_flag.csv", `line 2: need: "maybe": want yes, no or empty`},
		{"extra_field.csv", "line 2: 3 fields, header has 2"},
		{"bad_quote.csv", `line 2: extraneous or missing " in quoted-field`},
		{"empty.csv", "line 1: empty file: want a header row"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := readFixture(t, tt.file)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FileError", err)
			}
			if got != nil {
				t.Errorf("returned %d clients with an error; want none", len(got))
			}
			if len(fe.Rows) != 1 || !strings.HasPrefix(fe.Rows[0].Error(), tt.want) {
				t.Errorf("errors = %q, want one starting with %q", fe.Rows, tt.want)
			}
		})
	}
}
