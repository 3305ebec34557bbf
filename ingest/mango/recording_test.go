package mango

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/callpulse/callpulse/call"
)

const specRecordingID = "MToxMDA1NzU5MzoxMjM0NTY3ODk6MA=="

// mangoAPI emulates the recording download of spec §2.5: a signed
// POST /vpbx/queries/recording/post is answered 302 to a file URL on the
// same server that works once.
type mangoAPI struct {
	key, salt  string
	recordings map[string][]byte

	mu    sync.Mutex
	links map[string][]byte // one-shot token → file
	next  int
}

func newMangoAPI(t *testing.T, recordings map[string][]byte) *httptest.Server {
	m := &mangoAPI{key: testKey, salt: testSalt, recordings: recordings, links: map[string][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /vpbx"+recordingPath, m.recordingPost)
	mux.HandleFunc("GET /files/{token}", m.file)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func (m *mangoAPI) recordingPost(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" || r.ParseForm() != nil {
		apiError(w, http.StatusBadRequest, 3104)
		return
	}
	key, sign, payload := r.PostForm.Get(fieldKey), r.PostForm.Get(fieldSign), r.PostForm.Get(fieldJSON)
	if key != m.key {
		apiError(w, http.StatusUnauthorized, 3105)
		return
	}
	if subtle.ConstantTimeCompare([]byte(sign), []byte(Sign(m.key, m.salt, payload))) != 1 {
		apiError(w, http.StatusUnauthorized, 3102)
		return
	}
	var q struct {
		RecordingID string `json:"recording_id"`
		Action      string `json:"action"`
	}
	if json.Unmarshal([]byte(payload), &q) != nil || q.RecordingID == "" || (q.Action != "download" && q.Action != "play") {
		apiError(w, http.StatusBadRequest, 3104)
		return
	}
	file, ok := m.recordings[q.RecordingID]
	if !ok {
		apiError(w, http.StatusNotFound, 3320)
		return
	}
	m.mu.Lock()
	m.next++
	token := fmt.Sprintf("t%d", m.next)
	m.links[token] = file
	m.mu.Unlock()
	http.Redirect(w, r, "/files/"+token, http.StatusFound)
}

func (m *mangoAPI) file(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	file, ok := m.links[r.PathValue("token")]
	delete(m.links, r.PathValue("token"))
	m.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "audio/mpeg")
	_, _ = w.Write(file)
}

func apiError(w http.ResponseWriter, status, code int) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = fmt.Fprintf(w, `{"result":%d}`, code)
}

func recordingEvent(ref string) call.Event {
	return call.Event{Provider: Name, CallID: "MzI0NjQ5NjQ0MjoxMDE=", RecordingRef: ref}
}

// TestLocateSpecVector checks the request against spec §2.5: URL, form
// fields and the sign test vector.
func TestLocateSpecVector(t *testing.T) {
	req, err := newProvider(t).Locate(context.Background(), http.DefaultClient, recordingEvent(specRecordingID))
	if err != nil {
		t.Fatal(err)
	}
	if req.Method != http.MethodPost || req.URL.String() != DefaultAPIURL+"/queries/recording/post" {
		t.Errorf("request %s %s", req.Method, req.URL)
	}
	if ct := req.Header.Get("Content-Type"); ct != "application/x-www-form-urlencoded" {
		t.Errorf("Content-Type %q", ct)
	}
	body, _ := io.ReadAll(req.Body)
	form, err := url.ParseQuery(string(body))
	if err != nil {
		t.Fatal(err)
	}
	want := url.Values{fieldKey: {testKey}, fieldJSON: {specDownload}, fieldSign: {specDownloadSig}}
	for k, v := range want {
		if form.Get(k) != v[0] {
			t.Errorf("%s = %q, want %q", k, form.Get(k), v[0])
		}
	}
	if len(form) != len(want) {
		t.Errorf("form has fields %v", form)
	}
}

func TestLocateDownload(t *testing.T) {
	audio := []byte("ID3\x04fake mp3 frames")
	srv := newMangoAPI(t, map[string][]byte{specRecordingID: audio})
	p := newProviderWith(t, Options{APIKey: testKey, APISalt: testSalt, APIURL: srv.URL + "/vpbx/"})
	ctx := context.Background()
	client := srv.Client()

	for i := range 2 { // every Locate gets a fresh one-shot link
		req, err := p.Locate(ctx, client, recordingEvent(specRecordingID))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(got) != string(audio) {
			t.Fatalf("download %d: %d %q", i, resp.StatusCode, got)
		}
		if resp.Request.Method != http.MethodGet || !strings.HasPrefix(resp.Request.URL.Path, "/files/") {
			t.Errorf("the 302 was not followed with a GET: %s %s", resp.Request.Method, resp.Request.URL)
		}
	}
}

func TestLocateOneShotLink(t *testing.T) {
	srv := newMangoAPI(t, map[string][]byte{specRecordingID: []byte("mp3")})
	p := newProviderWith(t, Options{APIKey: testKey, APISalt: testSalt, APIURL: srv.URL + "/vpbx"})
	noFollow := srv.Client()
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	req, err := p.Locate(context.Background(), noFollow, recordingEvent(specRecordingID))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	loc, err := resp.Location()
	if resp.StatusCode != http.StatusFound || err != nil {
		t.Fatalf("got %d, location %v", resp.StatusCode, err)
	}
	for i, want := range []int{http.StatusOK, http.StatusNotFound} {
		resp, err := noFollow.Get(loc.String())
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != want {
			t.Errorf("GET %d of the link: %d, want %d", i+1, resp.StatusCode, want)
		}
	}
}

func TestLocateRefused(t *testing.T) {
	srv := newMangoAPI(t, map[string][]byte{specRecordingID: []byte("mp3")})
	tests := []struct {
		name   string
		salt   string
		ref    string
		status int
	}{
		{"unknown recording", testSalt, "MToxMDA1NzU5Mzo5OTk5OTk5OTk6MA==", http.StatusNotFound},
		{"wrong salt", "not-our-salt", specRecordingID, http.StatusUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newProviderWith(t, Options{APIKey: testKey, APISalt: tt.salt, APIURL: srv.URL + "/vpbx"})
			req, err := p.Locate(context.Background(), srv.Client(), recordingEvent(tt.ref))
			if err != nil {
				t.Fatal(err)
			}
			resp, err := srv.Client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_ = resp.Body.Close()
			if resp.StatusCode != tt.status {
				t.Errorf("status %d, want %d", resp.StatusCode, tt.status)
			}
		})
	}
}

func TestLocateBadEvent(t *testing.T) {
	p := newProvider(t)
	tests := map[string]call.Event{
		"other provider": {Provider: "zadarma", CallID: "c", RecordingRef: "r"},
		"no ref":         {Provider: Name, CallID: "c"},
		"ref with space": {Provider: Name, CallID: "c", RecordingRef: "a b"},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			if req, err := p.Locate(context.Background(), http.DefaultClient, e); err == nil || req != nil {
				t.Errorf("Locate = %v, %v; want an error", req, err)
			}
		})
	}
}

func TestLocateUsesContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	req, err := newProvider(t).Locate(ctx, http.DefaultClient, recordingEvent(specRecordingID))
	if err != nil {
		t.Fatal(err)
	}
	if req.Context().Err() == nil {
		t.Error("request does not carry the caller's context")
	}
}
