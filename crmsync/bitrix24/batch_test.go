package bitrix24

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"reflect"
	"testing"

	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
)

func TestBatch(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	id := f.srv.Add("DEAL", bitrix24test.Fields{"TITLE": "first"})
	res, err := f.c.Batch(ctx, []Command{
		{Key: "ok", Method: "crm.deal.get", Params: map[string]any{"id": id}},
		{Key: "missing", Method: "crm.deal.get", Params: map[string]any{"id": 999}},
		{Key: "list", Method: "crm.deal.list", Params: map[string]any{"select": []string{"ID", "TITLE"}, "start": 0}},
	}, false)
	if err != nil {
		t.Fatal(err)
	}
	var d struct{ TITLE string }
	if err := json.Unmarshal(res.Results["ok"], &d); err != nil || d.TITLE != "first" {
		t.Errorf("ok: %s (%v)", res.Results["ok"], err)
	}
	if e := res.Errors["missing"]; e == nil || e.Retryable || e.Reason != "NOT_FOUND" {
		t.Errorf("missing: %+v", e)
	}
	if res.Total["list"] != 1 {
		t.Errorf("total %v", res.Total)
	}
	// One request for the bucket and the records, three sub-calls.
	if n := len(f.srv.Requests("batch")); n != 1 {
		t.Errorf("%d batch requests", n)
	}
	if n := len(f.srv.Requests("crm.deal.get")); n != 2 {
		t.Errorf("%d sub-calls of crm.deal.get", n)
	}

	// Empty parts come back as PHP [] and decode to empty maps.
	res, err = f.c.Batch(ctx, []Command{{Key: "x", Method: "crm.deal.get", Params: map[string]any{"id": 999}}}, true)
	if err != nil || len(res.Results) != 0 || len(res.Errors) != 1 {
		t.Errorf("all failed: %+v, %v", res, err)
	}

	cmds := make([]Command, MaxBatch+1)
	for i := range cmds {
		cmds[i] = Command{Key: fmt.Sprint("k", i), Method: "crm.deal.get"}
	}
	if _, err := f.c.Batch(ctx, cmds, false); !isPermanent(err) {
		t.Errorf("51 commands: %v", err)
	}
	res, err = f.c.Batch(ctx, []Command{{Key: "a", Method: "batch"}}, false)
	if err != nil || res.Errors["a"] == nil || res.Errors["a"].Reason != "ERROR_BATCH_METHOD_NOT_ALLOWED" {
		t.Errorf("nested batch: %+v, %v", res, err)
	}
}

// encodeQuery writes what PHP's parser (and the emulator's) reads back.
func TestEncodeQuery(t *testing.T) {
	params := map[string]any{
		"select": []string{"ID", "UF_CRM_1"},
		"filter": map[string]any{">DATE_MODIFY": "2024-05-01T00:00:00+03:00", ">ID": 50},
		"order":  map[string]any{"ID": "ASC"},
		"start":  -1,
	}
	got := encodeQuery(params)
	want := "filter[%3EDATE_MODIFY]=2024-05-01T00%3A00%3A00%2B03%3A00&filter[%3EID]=50&order[ID]=ASC&select[0]=ID&select[1]=UF_CRM_1&start=-1"
	if got != want {
		t.Errorf("encodeQuery:\n got %s\nwant %s", got, want)
	}
	v, err := url.ParseQuery(got)
	if err != nil {
		t.Fatal(err)
	}
	wantVals := url.Values{
		"filter[>DATE_MODIFY]": {"2024-05-01T00:00:00+03:00"}, "filter[>ID]": {"50"},
		"order[ID]": {"ASC"}, "select[0]": {"ID"}, "select[1]": {"UF_CRM_1"}, "start": {"-1"},
	}
	if !reflect.DeepEqual(v, wantVals) {
		t.Errorf("parsed %v", v)
	}
}

func TestKeyed(t *testing.T) {
	for raw, n := range map[string]int{`[]`: 0, `null`: 0, ``: 0, `{"a":1,"b":2}`: 2, `[1,2,3]`: 3} {
		m, err := keyed(json.RawMessage(raw))
		if err != nil || len(m) != n {
			t.Errorf("%s: %v %v", raw, m, err)
		}
	}
}
