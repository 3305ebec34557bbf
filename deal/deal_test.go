package deal

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseAmount(t *testing.T) {
	tests := []struct {
		in   string
		want Amount
		err  string // substring of the error; empty = no error
	}{
		{in: "45000", want: 4500000},
		{in: "45000.5", want: 4500050},
		{in: "45000.50", want: 4500050},
		{in: "45000,50", want: 4500050},
		{in: "45 000,50", want: 4500050},
		{in: "45\u00a0000,50", want: 4500050},
		{in: "1\u202f234\u202f567.89", want: 123456789},
		{in: " 0 ", want: 0},
		{in: "0.01", want: 1},
		{in: "999999999999.99", want: MaxAmount},
		{in: "", err: "empty"},
		{in: "-5", err: "negative"},
		{in: "+5", err: "want digits"},
		{in: "45,000", err: "one or two digits"},
		{in: "45.000,50", err: "one decimal separator"},
		{in: "45,000.50", err: "one decimal separator"},
		{in: "45.", err: "one or two digits"},
		{in: ".5", err: "want digits before"},
		{in: "4 5000", err: "grouped oddly"},
		{in: "45  000", err: "grouped oddly"},
		{in: "1234 567", err: "grouped oddly"},
		{in: "45000 ₽", err: "want digits"},
		{in: "1e5", err: "want digits"},
		{in: "1000000000000", err: "more than"},
		{in: "99999999999999999999", err: "more than"},
	}
	for _, tt := range tests {
		got, err := ParseAmount(tt.in)
		switch {
		case tt.err == "" && err != nil:
			t.Errorf("ParseAmount(%q): %v", tt.in, err)
		case tt.err == "" && got != tt.want:
			t.Errorf("ParseAmount(%q) = %d, want %d", tt.in, got, tt.want)
		case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
			t.Errorf("ParseAmount(%q) = %d, %v; want an error containing %q", tt.in, got, err, tt.err)
		}
	}
}

func TestAmountFormat(t *testing.T) {
	for a, want := range map[Amount]string{0: "0.00", 1: "0.01", 4500050: "45000.50", 10000000: "100000.00", -250: "-2.50"} {
		if got := a.String(); got != want {
			t.Errorf("Amount(%d).String() = %q, want %q", int64(a), got, want)
		}
	}
	b, err := json.Marshal(map[string]Amount{"revenue": 4500050})
	if err != nil {
		t.Fatal(err)
	}
	if string(b) != `{"revenue":45000.50}` {
		t.Errorf("JSON = %s", b)
	}
}

func TestValidate(t *testing.T) {
	created := time.Date(2026, 11, 10, 9, 0, 0, 0, time.UTC)
	closed := created.Add(48 * time.Hour)
	won := Deal{ID: "d-1", Phone: "+79161234567", Stage: StageWon, Amount: 4500050, CreatedAt: created, ClosedAt: closed}
	tests := []struct {
		name  string
		edit  func(*Deal)
		field string // empty = valid
	}{
		{"won", func(*Deal) {}, ""},
		{"open", func(d *Deal) { d.Stage, d.ClosedAt = StageOpen, time.Time{} }, ""},
		{"lost with reason", func(d *Deal) { d.Stage, d.LossReason = StageLost, "дорого" }, ""},
		{"lost without reason", func(d *Deal) { d.Stage = StageLost }, ""},
		{"closed the moment it was created", func(d *Deal) { d.ClosedAt = d.CreatedAt }, ""},
		{"no id", func(d *Deal) { d.ID = "" }, "deal_id"},
		{"control in id", func(d *Deal) { d.ID = "a\nb" }, "deal_id"},
		{"long id", func(d *Deal) { d.ID = strings.Repeat("x", MaxIDLen+1) }, "deal_id"},
		{"national phone", func(d *Deal) { d.Phone = "89161234567" }, "phone"},
		{"no stage", func(d *Deal) { d.Stage = "" }, "stage"},
		{"capital stage", func(d *Deal) { d.Stage = "Won" }, "stage"},
		{"negative amount", func(d *Deal) { d.Amount = -1 }, "amount"},
		{"huge amount", func(d *Deal) { d.Amount = MaxAmount + 1 }, "amount"},
		{"no created_at", func(d *Deal) { d.CreatedAt = time.Time{} }, "created_at"},
		{"1900", func(d *Deal) { d.CreatedAt = time.Date(1900, 1, 1, 0, 0, 0, 0, time.UTC) }, "created_at"},
		{"won without close", func(d *Deal) { d.ClosedAt = time.Time{} }, "closed_at"},
		{"open with close", func(d *Deal) { d.Stage = StageOpen }, "closed_at"},
		{"closed before created", func(d *Deal) { d.ClosedAt = d.CreatedAt.Add(-time.Second) }, "closed_at"},
		{"closed in 2100", func(d *Deal) { d.ClosedAt = MaxTime }, "closed_at"},
		{"won with reason", func(d *Deal) { d.LossReason = "дорого" }, "loss_reason"},
		{"bad source", func(d *Deal) { d.Source = "Yandex Direct" }, "source"},
		{"long manager", func(d *Deal) { d.Manager = strings.Repeat("m", MaxManagerLen+1) }, "manager"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := won
			tt.edit(&d)
			err := d.Validate()
			if tt.field == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Field != tt.field {
				t.Fatalf("Validate = %v, want a *FieldError on %s", err, tt.field)
			}
			if strings.Contains(err.Error(), d.Phone) {
				t.Errorf("error %q contains the phone number", err)
			}
		})
	}
}

func TestParseStage(t *testing.T) {
	for in, want := range map[string]Stage{"open": StageOpen, " Won ": StageWon, "LOST": StageLost} {
		if got, err := ParseStage(in); err != nil || got != want {
			t.Errorf("ParseStage(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseStage("closed"); err == nil {
		t.Error("ParseStage(closed) succeeded")
	}
}
