package gravitel

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/ingest"
	"github.com/callpulse/callpulse/phone"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden.json from the current output")

// testToken is the crm_token of the spec's example requests.
const testToken = "b3c1d8e0f2a94c7d"

// received is when the fixtures arrive: the moment the spec's first example
// call ends (20240514T072105Z + 132 s).
var received = time.Date(2024, 5, 14, 7, 23, 17, 0, time.UTC)

// testClients is what the test directory knows.
var testClients = map[string]client.Client{
	"+79161234567": {Phone: "+79161234567", Name: "ООО Ромашка — Иван Петров", Category: client.CategoryA, Manager: "ivanov"},
	"+79265550202": {Phone: "+79265550202", Name: "Мария", Category: client.CategoryB, Manager: "petrov"},
	"+79265550303": {Phone: "+79265550303", Name: "Олег", Category: client.CategoryUnknown},
}

var testRoutes = []Route{{Category: "A", Responsible: "anna"}, {Category: "new", Responsible: "reception"}}

// directory is a Directory over a map, or one that fails or blocks.
type directory struct {
	clients map[string]client.Client
	err     error
	// block waits for the context to end and reports whether it had a
	// deadline.
	block       bool
	hadDeadline chan bool
}

func (d *directory) Client(ctx context.Context, phone string) (client.Client, bool, error) {
	if d.block {
		_, ok := ctx.Deadline()
		d.hadDeadline <- ok
		<-ctx.Done()
		return client.Client{}, false, ctx.Err()
	}
	if d.err != nil {
		return client.Client{}, false, d.err
	}
	c, ok := d.clients[phone]
	return c, ok, nil
}

func newProvider(t testing.TB, modify ...func(*Options)) *Provider {
	t.Helper()
	norm, err := phone.NewNormalizer("RU")
	if err != nil {
		t.Fatal(err)
	}
	opts := Options{Token: testToken, Routing: testRoutes, Directory: &directory{clients: testClients}, Normalizer: norm}
	for _, m := range modify {
		m(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func request(body []byte) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/webhooks/gravitel", bytes.NewReader(body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return r
}

// outcome is what the PBX and the spool get from one request.
type outcome struct {
	Status      int          `json:"status"`
	ContentType string       `json:"content_type,omitempty"`
	Body        string       `json:"body"`
	Events      []call.Event `json:"events"`
}

func serve(t testing.TB, p *Provider, r *http.Request, body []byte) (outcome, error) {
	t.Helper()
	parsed, err := p.Parse(r, body, received)
	if err != nil {
		if len(parsed.Events) > 0 || parsed.Reply != nil {
			t.Errorf("refused request returned events or a reply")
		}
		return outcome{}, err
	}
	if parsed.Reply == nil {
		t.Fatal("accepted request without a reply")
	}
	rec := httptest.NewRecorder()
	parsed.Reply(rec)
	return outcome{Status: rec.Code, ContentType: rec.Header().Get("Content-Type"), Body: rec.Body.String(),
		Events: parsed.Events}, nil
}

func readFixture(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestAuthentication(t *testing.T) {
	body := readFixture(t, filepath.Join("testdata", "history_in_answered.form"))
	without := strings.Replace(string(body), "crm_token="+testToken+"&", "", 1)
	tests := []struct {
		name   string
		body   string
		header string // X-API-KEY
		status int    // 0: accepted
	}{
		{"crm_token", string(body), "", 0},
		{"X-API-KEY header when the form has no token", without, testToken, 0},
		{"missing", without, "", http.StatusUnauthorized},
		{"empty", "crm_token=&" + without, "", http.StatusUnauthorized},
		{"wrong", "crm_token=forged&" + without, "", http.StatusForbidden},
		{"prefix of the key", "crm_token=" + testToken[:8] + "&" + without, "", http.StatusForbidden},
		{"key plus suffix", "crm_token=" + testToken + "0&" + without, "", http.StatusForbidden},
		{"wrong form token beats a right header", "crm_token=forged&" + without, testToken, http.StatusForbidden},
		{"wrong header", without, "forged", http.StatusForbidden},
		{"undecodable body without a token", "cmd=history&phone=%zz", "", http.StatusUnauthorized},
		{"unknown cmd without a token", "cmd=hangup", "", http.StatusUnauthorized},
	}
	p := newProvider(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := request([]byte(tt.body))
			if tt.header != "" {
				r.Header.Set("X-API-KEY", tt.header)
			}
			got, err := serve(t, p, r, []byte(tt.body))
			if tt.status == 0 {
				if err != nil || len(got.Events) != 1 {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			var ie *ingest.Error
			if !errors.As(err, &ie) || ie.Status != tt.status {
				t.Fatalf("err = %v, want %d", err, tt.status)
			}
			if strings.Contains(ie.Error(), testToken) {
				t.Error("error message contains the key")
			}
		})
	}
}

func TestMultipartFormIsReadLikeURLEncoded(t *testing.T) {
	body := readFixture(t, filepath.Join("testdata", "history_in_wait.form"))
	values, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	for k, vs := range values {
		for _, v := range vs {
			if err := w.WriteField(k, v); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := newProvider(t)
	want, err := serve(t, p, request(body), body)
	if err != nil {
		t.Fatal(err)
	}
	r := request(mp.Bytes())
	r.Header.Set("Content-Type", w.FormDataContentType())
	got, err := serve(t, p, r, mp.Bytes())
	if err != nil {
		t.Fatalf("multipart: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("multipart:\n got %+v\nwant %+v", got, want)
	}
}

func TestOptionsValidate(t *testing.T) {
	norm, _ := phone.NewNormalizer("RU")
	valid := Options{Token: testToken, Normalizer: norm}
	tests := []struct {
		name   string
		modify func(*Options)
		want   string // substring of the error; "" for valid
	}{
		{"valid", func(*Options) {}, ""},
		{"every route kind", func(o *Options) {
			o.Routing = []Route{{"refused", "win"}, {"a", "x"}, {"B", "y"}, {"c", "z"}, {"unknown", "u"}, {"NEW", "n"}}
		}, ""},
		{"no token", func(o *Options) { o.Token = "" }, "CALLPULSE_GRAVITEL_TOKEN"},
		{"no normalizer", func(o *Options) { o.Normalizer = nil }, "normalizer"},
		{"negative timeout", func(o *Options) { o.ContactTimeout = -time.Second }, "negative"},
		{"unknown category", func(o *Options) { o.Routing = []Route{{"VIP", "x"}} }, `routing[0]: category "VIP"`},
		{"duplicate category", func(o *Options) { o.Routing = []Route{{"A", "x"}, {"a", "y"}} }, "routing[1]"},
		{"no responsible", func(o *Options) { o.Routing = []Route{{"A", " "}} }, "routing[0]: responsible"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := valid
			tt.modify(&o)
			err := o.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate = %v, want an error about %q", err, tt.want)
			}
			if _, newErr := New(o); (newErr == nil) != (err == nil) {
				t.Errorf("New and Validate disagree: %v vs %v", newErr, err)
			}
		})
	}
}
