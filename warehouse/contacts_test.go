package warehouse

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/client"
)

func TestClientLookup(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	day1 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)

	anna := client.Client{Phone: "+79161234567", Name: "Анна, ООО Ромашка", Category: client.CategoryA,
		Need: client.FlagYes, Budget: client.FlagYes, Urgency: client.FlagYes, Source: "yandex_direct", Manager: "ivanov"}
	boris := client.Client{Phone: "+79167654321", Name: "Борис", Category: client.CategoryB, Manager: "petrov"}
	if err := db.UpsertClients(ctx, []client.Client{anna, boris}, "csv", day1); err != nil {
		t.Fatal(err)
	}
	// Day 2: Anna moves to another manager; Boris is re-imported without a
	// grade (keeps B) and with a new name. Each phone now has two versions
	// until ClickHouse merges them; the lookup must see only the newest.
	anna.Manager = "sidorov"
	boris.Category, boris.Name, boris.Manager = client.CategoryUnknown, "Борис Иванович", ""
	if err := db.UpsertClients(ctx, []client.Client{anna, boris}, "crm", day2); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name  string
		phone string
		found bool
		want  client.Client
	}{
		{"newest version wins", anna.Phone, true, anna},
		{"ungraded import keeps the category", boris.Phone, true, client.Client{Phone: boris.Phone,
			Name: "Борис Иванович", Category: client.CategoryB, Need: client.FlagUnknown,
			Budget: client.FlagUnknown, Urgency: client.FlagUnknown}},
		{"unknown phone", "+79260000001", false, client.Client{}},
		{"not normalised is not found", "89161234567", false, client.Client{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, found, err := db.Client(ctx, tt.phone)
			if err != nil {
				t.Fatalf("Client: %v", err)
			}
			if found != tt.found || got != tt.want {
				t.Errorf("Client = %+v, %v; want %+v, %v", got, found, tt.want, tt.found)
			}
		})
	}
}

func TestClientLookupError(t *testing.T) {
	db := openTestDB(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	const phone = "+79161234567"
	_, found, err := db.Client(ctx, phone)
	if err == nil || found {
		t.Fatalf("Client with a cancelled context = %v, %v; want an error", found, err)
	}
	if strings.Contains(err.Error(), "9161234567") {
		t.Errorf("error names the phone number: %v", err)
	}
}

func TestKnownClient(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	day1 := time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)
	day2 := day1.Add(24 * time.Hour)
	anna := client.Client{Phone: "+79161234567", Category: client.CategoryA, Manager: "101"}
	if err := db.UpsertClients(ctx, []client.Client{anna}, "csv", day1); err != nil {
		t.Fatal(err)
	}
	anna.Manager = "102"
	if err := db.UpsertClients(ctx, []client.Client{anna}, "crm", day2); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name        string
		phone       string
		before      time.Time
		known       bool
		wantManager string
	}{
		{"known after the first import, newest manager", anna.Phone, day1.Add(time.Hour), true, "102"},
		{"not yet known at the import itself", anna.Phone, day1, false, "102"},
		{"unknown phone", "+79260000001", day2.Add(time.Hour), false, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, known, err := db.KnownClient(ctx, tt.phone, tt.before)
			if err != nil || known != tt.known || m != tt.wantManager {
				t.Errorf("KnownClient = %q, %v, %v; want %q, %v", m, known, err, tt.wantManager, tt.known)
			}
		})
	}
}
