package generic

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// strictDecode is the reference: encoding/json, unknown fields refused.
func strictDecode(raw []byte) (*item, error) {
	it := new(item)
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return it, dec.Decode(it)
}

// values dereferences an item's fields; absent or null is "<nil>".
func values(it *item) []string {
	var out []string
	v := reflect.ValueOf(it).Elem()
	for i := range v.NumField() {
		if p := v.Field(i).Interface().(*string); p != nil {
			out = append(out, *p)
		} else {
			out = append(out, "<nil>")
		}
	}
	return out
}

// agreesWithStrict fails t unless decodePlain declines raw or decodes it
// as encoding/json does.
func agreesWithStrict(t *testing.T, raw []byte) bool {
	t.Helper()
	got, ok := decodePlain(raw)
	if !ok {
		return false
	}
	want, err := strictDecode(raw)
	if err != nil {
		t.Fatalf("decodePlain accepted %q, encoding/json refuses it: %v", raw, err)
	}
	if g, w := values(got), values(want); !reflect.DeepEqual(g, w) {
		t.Fatalf("%q:\n decodePlain  %q\n encoding/json %q", raw, g, w)
	}
	return true
}

func TestDecodePlain(t *testing.T) {
	tests := []struct {
		name  string
		raw   string
		plain bool // taken by decodePlain; otherwise left to encoding/json
	}{
		{"snapshot", `{"call_id":"c-1","direction":"inbound","started_at":"2026-11-20T09:15:00+03:00","client_phone":"+79161234567","status":"missed"}`, true},
		{"white space and nulls", " {\n\t\"call_id\" : \"c-1\" ,\r\n \"ended_at\":null, \"manager\" :null }\n", true},
		{"empty object", `{}`, true},
		{"duplicate key, last wins", `{"manager":"101","manager":"102","line_phone":"1","line_phone":null}`, true},
		{"UTF-8", `{"manager":"Иван Петров"}`, true},
		{"escape", `{"manager":"a\"b"}`, false},
		{"unicode escape", `{"manager":"\u0041"}`, false},
		{"other spelling of a key", `{"Call_ID":"c-1"}`, false},
		{"unknown key", `{"colour":"red"}`, false},
		{"number", `{"manager":101}`, false},
		{"control character", "{\"manager\":\"1\t2\"}", false},
		{"invalid UTF-8", "{\"manager\":\"\xff\"}", false},
		{"trailing data", `{"manager":"1"} {}`, false},
		{"trailing comma", `{"manager":"1",}`, false},
		{"truncated", `{"manager":"1"`, false},
		{"nullx", `{"manager":nullx}`, false},
		{"array", `[{"manager":"1"}]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if plain := agreesWithStrict(t, []byte(tt.raw)); plain != tt.plain {
				t.Errorf("decodePlain took it: %v, want %v", plain, tt.plain)
			}
		})
	}
}

func TestDecodePlainTakesTheTestdata(t *testing.T) {
	for _, name := range []string{"answered.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		if !agreesWithStrict(t, raw) {
			t.Errorf("%s: left to encoding/json", name)
		}
	}
}

func FuzzDecodePlain(f *testing.F) {
	for _, pattern := range []string{"testdata/*.json", "testdata/bad/*.json"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b)
			}
		}
	}
	f.Add([]byte(`{"manager":"101","manager":null}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		agreesWithStrict(t, raw)
	})
}
