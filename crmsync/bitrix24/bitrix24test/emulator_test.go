package bitrix24test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

func TestAuth(t *testing.T) {
	s := New(Options{})
	defer s.Close()
	tok := s.IssueTokens()
	tests := []struct {
		name, url, body string
		status          int
		code            string
	}{
		{"webhook crm", s.WebhookURL() + "crm.deal.list.json", `{}`, 200, ""},
		{"webhook telephony", s.WebhookURL() + "telephony.externalCall.register", `{"USER_ID":1,"PHONE_NUMBER":"79161234567","TYPE":2}`, 403, "WRONG_AUTH_TYPE"},
		{"wrong webhook code", strings.Replace(s.WebhookURL(), "webhookcode", "guess", 1) + "crm.deal.list", `{}`, 401, "NO_AUTH_FOUND"},
		{"no auth", s.Endpoint() + "crm.deal.list", `{}`, 401, "NO_AUTH_FOUND"},
		{"unknown token", s.Endpoint() + "crm.deal.list", `{"auth":"forged"}`, 401, "invalid_token"},
		{"app telephony", s.Endpoint() + "telephony.externalcall.register", `{"auth":"` + tok.AccessToken + `","USER_ID":1,"PHONE_NUMBER":"79161234567","TYPE":2}`, 200, ""},
		{"start date without offset", s.Endpoint() + "telephony.externalCall.register", `{"auth":"` + tok.AccessToken + `","USER_ID":1,"PHONE_NUMBER":"79161234567","TYPE":2,"CALL_START_DATE":"2024-05-14 10:21:05"}`, 400, "ERROR_CORE"},
	}
	for _, tt := range tests {
		status, body := post(t, tt.url, tt.body)
		if status != tt.status || (tt.code != "" && body["error"] != tt.code) {
			t.Errorf("%s: %d %v, want %d %s", tt.name, status, body, tt.status, tt.code)
		}
	}
	s.ExpireAccessTokens()
	if status, body := post(t, s.Endpoint()+"crm.deal.list", `{"auth":"`+tok.AccessToken+`"}`); status != 401 || body["error"] != "expired_token" {
		t.Errorf("expired: %d %v", status, body)
	}
}

// Register within 30 minutes with the same key returns the same CALL_ID;
// a different EXTERNAL_CALL_ID or a later time gives a new one.
func TestRegisterDedup(t *testing.T) {
	now := time.Date(2024, 5, 14, 10, 0, 0, 0, time.UTC)
	s := New(Options{Now: func() time.Time { return now }, Burst: -1})
	defer s.Close()
	tok := s.IssueTokens()
	reg := func(ext string) string {
		_, b := post(t, s.Endpoint()+"telephony.externalCall.register",
			`{"auth":"`+tok.AccessToken+`","USER_ID":17,"PHONE_NUMBER":"79161234567","TYPE":2,"EXTERNAL_CALL_ID":"`+ext+`"}`)
		return b["result"].(map[string]any)["CALL_ID"].(string)
	}
	a := reg("x")
	if b := reg("x"); b != a {
		t.Errorf("same key: %s then %s", a, b)
	}
	if b := reg("y"); b == a {
		t.Errorf("other EXTERNAL_CALL_ID got the same CALL_ID")
	}
	now = now.Add(31 * time.Minute)
	if b := reg("x"); b == a {
		t.Errorf("after 31 minutes got the same CALL_ID")
	}
}

// Offset paging: 50 per page, total, next until the last page (§6.8).
func TestListPaging(t *testing.T) {
	s := New(Options{Burst: -1})
	defer s.Close()
	for range 120 {
		s.Add("DEAL", Fields{"TITLE": "d"})
	}
	var got []int
	start := 0
	for {
		_, b := post(t, s.WebhookURL()+"crm.deal.list", `{"order":{"ID":"ASC"},"start":`+jsonInt(start)+`}`)
		got = append(got, len(b["result"].([]any)))
		if b["total"] != 120.0 {
			t.Fatalf("total %v", b["total"])
		}
		next, ok := b["next"].(float64)
		if !ok {
			break
		}
		start = int(next)
	}
	if len(got) != 3 || got[0] != 50 || got[1] != 50 || got[2] != 20 {
		t.Errorf("pages %v, want [50 50 20]", got)
	}
}

func jsonInt(n int) string { b, _ := json.Marshal(n); return string(b) }
