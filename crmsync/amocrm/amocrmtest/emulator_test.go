package amocrmtest

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

const (
	testToken = "tok"
	testPhone = "+79161234567"
)

// postCall sends one call note and returns the status, the Retry-After
// header, or the transport error.
func postCall(t *testing.T, s *Server, uniq string) (int, string, error) {
	t.Helper()
	body := `[{"direction":"inbound","uniq":"` + uniq + `","duration":10,"source":"test","phone":"` + testPhone + `","call_status":4,"request_id":"0"}]`
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v4/calls", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	resp, err := client.Do(req)
	if err != nil {
		return 0, "", err
	}
	resp.Body.Close()
	return resp.StatusCode, resp.Header.Get("Retry-After"), nil
}

// Scripted faults apply to one request each, in the order they were
// queued, and then the emulator answers normally again.
func TestScriptedFaults(t *testing.T) {
	type outcome struct {
		status     int // 0: transport error
		retryAfter string
		stored     bool // the call is on a card afterwards
		logged     Request
	}
	tests := []struct {
		name   string
		script func(s *Server)
		want   []outcome
	}{
		{"error status with Retry-After", func(s *Server) { s.FailNext(1, 503, 2*time.Second) }, []outcome{
			{status: 503, retryAfter: "2", logged: Request{Status: 503}},
			{status: 200, stored: true, logged: Request{Status: 200}},
		}},
		{"slow answer is served", func(s *Server) { s.SlowNext(1, time.Millisecond) }, []outcome{
			{status: 200, stored: true, logged: Request{Status: 200}},
		}},
		{"reset before serving applies nothing", func(s *Server) { s.ResetNext(1, false) }, []outcome{
			{status: 0, logged: Request{Status: 0, Reset: true}},
			{status: 200, stored: true, logged: Request{Status: 200}},
		}},
		{"reset after serving loses only the answer", func(s *Server) { s.ResetNext(1, true) }, []outcome{
			{status: 0, stored: true, logged: Request{Status: 200, Reset: true}},
			{status: 200, stored: true, logged: Request{Status: 200}},
		}},
		{"faults play in queue order", func(s *Server) {
			s.ResetNext(1, false)
			s.FailNext(1, 429, time.Second)
			s.SlowNext(1, time.Millisecond)
		}, []outcome{
			{status: 0, logged: Request{Status: 0, Reset: true}},
			{status: 429, retryAfter: "1", logged: Request{Status: 429}},
			{status: 200, stored: true, logged: Request{Status: 200}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Token: testToken, Rate: 1000})
			t.Cleanup(s.Close)
			s.KnowPhone(testPhone)
			tt.script(s)
			scripted := s.Scripted()
			for i, want := range tt.want {
				status, retryAfter, err := postCall(t, s, "generic:c-1")
				if want.status == 0 && err == nil {
					t.Errorf("request %d: status %d, want a transport error", i, status)
				}
				if want.status != 0 && (err != nil || status != want.status || retryAfter != want.retryAfter) {
					t.Errorf("request %d: status %d, Retry-After %q, error %v; want %d, %q", i, status, retryAfter, err, want.status, want.retryAfter)
				}
				if got := len(s.Calls()); got != map[bool]int{false: 0, true: 1}[want.stored] {
					t.Errorf("request %d: %d calls stored, want stored=%v", i, got, want.stored)
				}
				log := s.Log()
				if len(log) != i+1 {
					t.Fatalf("request %d: %d requests logged", i, len(log))
				}
				if got := log[i]; got.Status != want.logged.Status || got.Reset != want.logged.Reset {
					t.Errorf("request %d logged as status %d reset %v, want %d %v", i, got.Status, got.Reset, want.logged.Status, want.logged.Reset)
				}
				if got := s.Scripted(); got != max(scripted-i-1, 0) {
					t.Errorf("after request %d: %d scripted faults left, want %d", i, got, max(scripted-i-1, 0))
				}
			}
		})
	}
}

// Leads and Contact show the lead created for an unknown caller.
func TestLeadsListsCreatedLeads(t *testing.T) {
	s := New(Options{Token: testToken, Rate: 1000})
	t.Cleanup(s.Close)
	body := `[{"name":"Звонок","_embedded":{"contacts":[{"first_name":"x","custom_fields_values":[{"field_code":"PHONE","values":[{"value":"` + testPhone + `"}]}]}]},"request_id":"0"}]`
	req, err := http.NewRequest(http.MethodPost, s.URL+"/api/v4/leads/complex", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	leads := s.Leads()
	if len(leads) != 1 || len(leads[0].ContactIDs) != 1 {
		t.Fatalf("leads = %+v, want one with one contact", leads)
	}
	c, ok := s.Contact(leads[0].ContactIDs[0])
	if !ok || len(c.Phones) != 1 || c.Phones[0] != testPhone {
		t.Errorf("lead's contact = %+v (found %v), want one with %s", c, ok, testPhone)
	}
}
