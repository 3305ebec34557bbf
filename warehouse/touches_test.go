package warehouse

import (
	"context"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestTouchKey(t *testing.T) {
	at := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
	base := Touch{Phone: "+79161234567", Action: "site_visit", At: at}
	same := base
	same.At = at.Add(500 * time.Millisecond).In(time.FixedZone("MSK", 3*3600)) // same second, other zone
	same.UTMSource = "yandex"                                                  // not part of the identity
	if base.Key() != same.Key() {
		t.Errorf("the same touch has two keys: %s, %s", base.Key(), same.Key())
	}
	other := []Touch{
		{Phone: base.Phone, Action: "pricing_page", At: at},
		{Phone: base.Phone, Action: base.Action, At: at.Add(time.Second)},
		{LeadID: base.Phone, Action: base.Action, At: at}, // the fields are separated
	}
	for _, o := range other {
		if o.Key() == base.Key() {
			t.Errorf("%+v has the key of %+v", o, base)
		}
	}
	withID := base
	withID.ID = "t-1"
	if got := withID.Key(); got != "id:t-1" {
		t.Errorf("Key with an id = %q, want id:t-1", got)
	}
	if !strings.HasPrefix(base.Key(), "h:") || strings.Contains(base.Key(), "9161234567") {
		t.Errorf("content key %q: want h: and a hash", base.Key())
	}
}

func TestInsertTouches(t *testing.T) {
	db := openTestDB(t)
	ctx := context.Background()
	at := time.Date(2026, 11, 20, 9, 15, 0, 0, time.UTC)
	touches := []Touch{
		{ID: "t-1", Phone: "+79161234567", Action: "site_visit", At: at},
		{LeadID: "D-1", Action: "application", At: at, UTMSource: "yandex"},
	}
	if err := db.InsertTouches(ctx, touches, t0); err != nil {
		t.Fatal(err)
	}
	// Re-sent, and t-1 corrected: the newest version of each key wins.
	touches[0].Action = "pricing_page"
	if err := db.InsertTouches(ctx, touches, t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	rows, err := db.Conn().Query(ctx, `SELECT touch_key, action FROM touches
		ORDER BY touch_key, version DESC LIMIT 1 BY touch_key`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]string{}
	for rows.Next() {
		var key, action string
		if err := rows.Scan(&key, &action); err != nil {
			t.Fatal(err)
		}
		got[key] = action
	}
	want := map[string]string{"id:t-1": "pricing_page", touches[1].Key(): "application"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("stored touches %v, want %v", got, want)
	}
}
