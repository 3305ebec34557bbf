package asterisk

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/call"
)

func TestLocate(t *testing.T) {
	rec := call.Event{Provider: Name, CallID: "1715671265.42", RecordingRef: "calltrack-1715671265.42"}
	tests := []struct {
		name     string
		url      string
		apiKey   bool
		event    call.Event
		wantURL  string
		wantAuth bool
	}{
		{"basic auth", "http://pbx.example:8088", false, rec,
			"http://pbx.example:8088/ari/recordings/stored/calltrack-1715671265.42/file", true},
		{"https with path prefix", "https://pbx.example/asterisk/", false, rec,
			"https://pbx.example/asterisk/ari/recordings/stored/calltrack-1715671265.42/file", true},
		{"ws URL", "wss://pbx.example:8089", false, rec,
			"https://pbx.example:8089/ari/recordings/stored/calltrack-1715671265.42/file", true},
		{"name is escaped", "http://pbx.example:8088", false,
			call.Event{Provider: Name, RecordingRef: "in/2024 05?x"},
			"http://pbx.example:8088/ari/recordings/stored/in%2F2024%2005%3Fx/file", true},
		{"api_key for the WebSocket, Basic here", "http://pbx.example:8088", true, rec,
			"http://pbx.example:8088/ari/recordings/stored/calltrack-1715671265.42/file", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := testOptions(t)
			opts.URL, opts.APIKeyInQuery = tt.url, tt.apiKey
			req, err := newSource(t, opts).Locate(context.Background(), http.DefaultClient, tt.event)
			if err != nil {
				t.Fatal(err)
			}
			if req.Method != http.MethodGet || req.URL.String() != tt.wantURL {
				t.Errorf("request = %s %s, want GET %s", req.Method, req.URL, tt.wantURL)
			}
			user, pass, ok := req.BasicAuth()
			if ok != tt.wantAuth || (ok && (user != testUser || pass != testPassword)) {
				t.Errorf("basic auth = %q %q %v, want %v", user, pass, ok, tt.wantAuth)
			}
		})
	}
}

func TestLocateRejects(t *testing.T) {
	tests := []struct {
		name string
		e    call.Event
	}{
		{"other provider", call.Event{Provider: "zadarma", RecordingRef: "x"}},
		{"no recording", call.Event{Provider: Name}},
		{"control character", call.Event{Provider: Name, RecordingRef: "a\nb"}},
	}
	s := newSource(t, testOptions(t))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := s.Locate(context.Background(), nil, tt.e); !errors.Is(err, ErrNotLocatable) {
				t.Fatalf("Locate = %v, want ErrNotLocatable", err)
			} else if strings.Contains(err.Error(), testPassword) {
				t.Errorf("error contains the password: %v", err)
			}
		})
	}
}
