package gravitel

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/warehouse"
)

// The ClickHouse client table is the directory app wires in.
var _ Directory = (*warehouse.DB)(nil)

func contactBody(phone string) []byte {
	return []byte("cmd=contact&crm_token=" + testToken + "&callid=c-42&phone=" + phone)
}

func TestContactRouting(t *testing.T) {
	clients := map[string]client.Client{
		"+79161111111": {Name: "Анна", Category: client.CategoryA, Manager: "ivanov"},
		"+79162222222": {Name: "Борис", Category: client.CategoryB, Manager: "petrov"},
		"+79163333333": {Name: "Вера", Category: client.CategoryC},
		"+79164444444": {Name: "Глеб", Category: client.CategoryUnknown, Manager: "sidorov"},
		"+79165555555": {Name: " Дина ", Category: "", Manager: " kozlov "},
	}
	all := []Route{{"refused", "winback"}, {"a", "senior"}, {"C", "junior"}, {"unknown", "qualifier"}, {"new", "reception"}}
	tests := []struct {
		name   string
		routes []Route
		phone  string
		want   string
	}{
		{"A by rule (any case)", all, "79161111111", `{"contact_name":"Анна","responsible":"senior"}`},
		{"B without a rule: own manager", all, "89162222222", `{"contact_name":"Борис","responsible":"petrov"}`},
		{"C by rule", all, "%2B79163333333", `{"contact_name":"Вера","responsible":"junior"}`},
		{"ungraded client by rule", all, "79164444444", `{"contact_name":"Глеб","responsible":"qualifier"}`},
		{"ungraded client without a rule: own manager", nil, "79164444444", `{"contact_name":"Глеб","responsible":"sidorov"}`},
		{"empty category is ungraded; values trimmed", all, "79165555555", `{"contact_name":"Дина","responsible":"qualifier"}`},
		{"C without a rule or manager: name only", nil, "79163333333", `{"contact_name":"Вера"}`},
		{"unknown caller by rule", all, "79169999999", `{"responsible":"reception"}`},
		{"unknown caller without a rule", nil, "79169999999", `{}`},
		{"hidden number is a new caller", all, "", `{"responsible":"reception"}`},
		{"unusable number is a new caller", all, "anonymous", `{"responsible":"reception"}`},
		{"refused matches nobody yet", []Route{{"refused", "winback"}}, "79161111111", `{"contact_name":"Анна","responsible":"ivanov"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProvider(t, func(o *Options) {
				o.Routing, o.Directory = tt.routes, &directory{clients: clients}
			})
			body := contactBody(tt.phone)
			got, err := serve(t, p, request(body), body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Status != 200 || got.ContentType != "application/json; charset=utf-8" || len(got.Events) != 0 {
				t.Errorf("status %d, content type %q, %d events", got.Status, got.ContentType, len(got.Events))
			}
			if strings.TrimSpace(got.Body) != tt.want {
				t.Errorf("reply %s, want %s", got.Body, tt.want)
			}
		})
	}
}

// TestContactNeverFails: whatever happens to the lookup, the PBX gets 200
// and {} at once, and the log names neither the phone nor the key.
func TestContactNeverFails(t *testing.T) {
	tests := []struct {
		name string
		dir  func() *directory
		log  string // expected in the log; "" for no warning
	}{
		{"lookup error", func() *directory { return &directory{err: errors.New("look up client: connection refused")} },
			"connection refused"},
		{"lookup timeout", func() *directory { return &directory{block: true, hadDeadline: make(chan bool, 1)} },
			"deadline exceeded"},
		{"no directory", func() *directory { return nil }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			dir := tt.dir()
			p := newProvider(t, func(o *Options) {
				o.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
				o.ContactTimeout = time.Millisecond
				o.Directory = nil
				if dir != nil {
					o.Directory = dir
				}
			})
			body := contactBody("79161234567")
			got, err := serve(t, p, request(body), body)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got.Status != 200 || strings.TrimSpace(got.Body) != "{}" || len(got.Events) != 0 {
				t.Errorf("got %d %q with %d events, want 200 {}", got.Status, got.Body, len(got.Events))
			}
			if dir != nil && dir.block && !<-dir.hadDeadline {
				t.Error("lookup ran without a deadline")
			}
			out := logs.String()
			if tt.log != "" && (!strings.Contains(out, "level=WARN") || !strings.Contains(out, tt.log) ||
				!strings.Contains(out, "callid=c-42")) {
				t.Errorf("want a warning with %q and the callid, got log %q", tt.log, out)
			}
			if tt.log == "" && out != "" {
				t.Errorf("unexpected log %q", out)
			}
			for _, secret := range []string{"9161234567", testToken} {
				if strings.Contains(out, secret) {
					t.Errorf("log contains %q: %s", secret, out)
				}
			}
		})
	}
}

func TestRatingStoresNothing(t *testing.T) {
	body := readFixture(t, "testdata/rating.form")
	got, err := serve(t, newProvider(t), request(body), body)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != 200 || got.Body != "" || len(got.Events) != 0 {
		t.Errorf("rating: %+v, want 200 with no body and no events", got)
	}
}
