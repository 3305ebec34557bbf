package warehouse

import (
	"context"
	"testing"
)

func TestReportMarks(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	last, err := db.LastReportSent(ctx)
	if err != nil || !last.IsZero() {
		t.Fatalf("LastReportSent on an empty table = %v, %v; want zero, nil", last, err)
	}
	marks := []ReportMark{
		{Token: "t1", State: ReportClaimed, Replica: "a"},
		{Token: "t1", State: ReportSent, Replica: "a"},
	}
	for _, m := range marks {
		if err := db.AddReportMark(ctx, "2026-11-10", "boss@example.test", m); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.AddReportMark(ctx, "2026-11-11", "boss@example.test", ReportMark{Token: "t2", State: ReportClaimed}); err != nil {
		t.Fatal(err)
	}
	got, err := db.ReportMarks(ctx, "2026-11-10", "boss@example.test")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Fatalf("ReportMarks = %+v, want the 2 rows of 2026-11-10", got)
	}
	for i, m := range got {
		if m.Token != marks[i].Token || m.State != marks[i].State || m.Replica != marks[i].Replica {
			t.Errorf("mark %d = %+v, want %+v", i, m, marks[i])
		}
		if m.At.IsZero() || m.Age < 0 {
			t.Errorf("mark %d: at %v age %v: want a server time and a non-negative age", i, m.At, m.Age)
		}
	}
	last, err = db.LastReportSent(ctx)
	if err != nil || !last.Equal(got[1].At) {
		t.Errorf("LastReportSent = %v, %v; want %v", last, err, got[1].At)
	}
	for _, bad := range []struct {
		day   string
		state ReportMarkState
	}{{"10.11.2026", ReportClaimed}, {"2026-11-10", "lost"}} {
		if err := db.AddReportMark(ctx, bad.day, "x@example.test", ReportMark{State: bad.state}); err == nil {
			t.Errorf("AddReportMark(%q, %q) = nil, want an error", bad.day, bad.state)
		}
	}
}
