package warehouse

import (
	"context"
	"testing"
	"time"
)

func TestRecordings(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	fetched := time.Date(2026, 11, 20, 6, 20, 0, 0, time.UTC)
	first := Recording{Provider: "zadarma", CallID: "in_1", SHA256: "aa11", Bytes: 1234,
		ContentType: "audio/mpeg", FetchedAt: fetched}
	replaced := first
	replaced.SHA256, replaced.Bytes, replaced.FetchedAt = "bb22", 999, fetched.Add(time.Minute)
	other := Recording{Provider: "mango", CallID: "in_1", SHA256: "cc33", Bytes: 1,
		ContentType: "audio/wav", FetchedAt: fetched}

	for _, r := range []Recording{first, other, first, replaced} {
		if err := db.InsertRecording(ctx, r); err != nil {
			t.Fatalf("InsertRecording: %v", err)
		}
	}

	tests := []struct {
		provider, callID string
		want             Recording
		found            bool
	}{
		{"zadarma", "in_1", replaced, true},
		{"mango", "in_1", other, true},
		{"zadarma", "in_2", Recording{}, false},
		{"generic", "in_1", Recording{}, false},
	}
	for _, tt := range tests {
		got, found, err := db.Recording(ctx, tt.provider, tt.callID)
		if err != nil {
			t.Fatalf("Recording(%s, %s): %v", tt.provider, tt.callID, err)
		}
		if found != tt.found || got != tt.want {
			t.Errorf("Recording(%s, %s) = %+v, %v; want %+v, %v", tt.provider, tt.callID, got, found, tt.want, tt.found)
		}
	}
}

func TestRecordedCalls(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	for _, r := range []Recording{
		{Provider: "zadarma", CallID: "c1", SHA256: "aa", Bytes: 1, ContentType: "audio/mpeg", FetchedAt: at},
		{Provider: "mango", CallID: "c2", SHA256: "bb", Bytes: 1, ContentType: "audio/mpeg", FetchedAt: at},
	} {
		if err := db.InsertRecording(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := db.RecordedCalls(ctx, []CallKey{{"zadarma", "c1"}, {"zadarma", "c2"}, {"mango", "c3"}})
	if err != nil {
		t.Fatal(err)
	}
	// c2 has a recording from mango, not zadarma: same call id, another call.
	if want := map[CallKey]bool{{"zadarma", "c1"}: true}; len(got) != 1 || !got[CallKey{"zadarma", "c1"}] {
		t.Errorf("RecordedCalls = %v, want %v", got, want)
	}
}
