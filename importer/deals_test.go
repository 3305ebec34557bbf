package importer

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/deal"
)

func moscow(t *testing.T) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation("Europe/Moscow")
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func readDealsFixture(t *testing.T, name string) ([]deal.Deal, error) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "deals", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	return ReadDeals(f, normalizer(t), moscow(t))
}

// utc is a UTC instant; Moscow is UTC+3 all year.
func utc(y int, m time.Month, d, hh, mm, ss int) time.Time {
	return time.Date(y, m, d, hh, mm, ss, 0, time.UTC)
}

func TestReadDealsGood(t *testing.T) {
	got, err := readDealsFixture(t, "good.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []deal.Deal{
		// A bare date is midnight in the configured zone; RFC 3339 keeps its offset.
		{ID: "d-1", Phone: "+79161234567", Stage: deal.StageWon, Amount: 4500050,
			CreatedAt: utc(2026, 11, 9, 21, 0, 0), ClosedAt: utc(2026, 11, 12, 15, 30, 0)},
		// Local date-times without an offset are Moscow time; an empty amount is 0.
		{ID: "d-2", Phone: "+79167654321", Stage: deal.StageLost, LossReason: "дорого",
			CreatedAt: utc(2026, 11, 10, 6, 15, 0), ClosedAt: utc(2026, 11, 11, 7, 0, 0)},
		{ID: "d-3", Phone: "+79031112233", Stage: deal.StageOpen, Amount: 12000000,
			CreatedAt: utc(2026, 11, 12, 20, 59, 59)},
		// Stage in any case; a lost deal may have no reason.
		{ID: "d-4", Phone: "+79161234567", Stage: deal.StageLost,
			CreatedAt: utc(2026, 11, 1, 0, 0, 0), ClosedAt: utc(2026, 11, 2, 0, 0, 0)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadDeals:\n got %+v\nwant %+v", got, want)
	}
}

func TestReadDealsExcelExport(t *testing.T) {
	got, err := readDealsFixture(t, "semicolon_excel.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := []deal.Deal{
		{ID: "1001", Phone: "+79161234567", Stage: deal.StageWon, Amount: 4500050, Source: "yandex_direct", Manager: "101",
			CreatedAt: utc(2026, 11, 9, 21, 0, 0), ClosedAt: utc(2026, 11, 12, 15, 30, 0)},
		{ID: "1002", Phone: "+79167654321", Stage: deal.StageLost, Amount: 120000, LossReason: "выбрали конкурента", Manager: "102",
			CreatedAt: utc(2026, 11, 10, 6, 15, 0), ClosedAt: utc(2026, 11, 10, 21, 0, 0)},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadDeals:\n got %+v\nwant %+v", got, want)
	}
}

func TestReadDealsBad(t *testing.T) {
	tests := []struct {
		file string
		want []string // the error lines expected, each a prefix
	}{
		{"bad_stage.csv", []string{`line 3: stage: stage "closed": want open, won or lost`}},
		{"bad_amount.csv", []string{`line 2: amount: amount "-100": must not be negative`}},
		{"thousands_comma.csv", []string{`line 2: amount: amount "45,000": want one or two digits after the decimal separator`}},
		{"bad_date.csv", []string{`line 2: created_at: "11/20/2026": want YYYY-MM-DD`}},
		{"won_without_closed_at.csv", []string{"line 2: closed_at: a won deal needs a close time: missing"}},
		{"open_with_closed_at.csv", []string{"line 2: closed_at: an open deal has no close time"}},
		{"reason_not_lost.csv", []string{"line 2: loss_reason: only a lost deal has a loss reason"}},
		{"closed_before_created.csv", []string{"line 2: closed_at: before created_at"}},
		{"duplicate_id.csv", []string{"line 4: deal_id: same deal as line 2"}},
		{"bad_phone.csv", []string{"line 3: phone: "}},
		{"missing_created_at.csv", []string{`line 1: missing column "created_at"`}},
		{"empty_created_at.csv", []string{"line 2: created_at: missing"}},
		{"empty_id.csv", []string{"line 2: deal_id: empty"}},
		{"bad_source.csv", []string{`line 2: source: "Яндекс Директ": want lowercase letters`}},
		{"many_bad.csv", []string{
			`line 3: amount: amount "abc": want digits`,
			`line 3: closed_at: "yesterday": want YYYY-MM-DD`,
			"line 5: deal_id: same deal as line 4",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got, err := readDealsFixture(t, tt.file)
			var fe *FileError
			if !errors.As(err, &fe) {
				t.Fatalf("err = %v, want a *FileError", err)
			}
			if got != nil {
				t.Errorf("returned %d deals with an error; want none", len(got))
			}
			if len(fe.Rows) != len(tt.want) {
				t.Fatalf("errors = %q, want %d", fe.Rows, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.HasPrefix(fe.Rows[i].Error(), w) {
					t.Errorf("error %d = %q, want it to start with %q", i, fe.Rows[i], w)
				}
			}
			if strings.Contains(err.Error(), "79161234567") {
				t.Errorf("error names a phone number: %v", err)
			}
		})
	}
}

func TestReadDealsNeedsZone(t *testing.T) {
	if _, err := ReadDeals(strings.NewReader("deal_id,phone,stage,created_at\n"), normalizer(t), nil); err == nil {
		t.Fatal("ReadDeals without a time zone succeeded")
	}
}
