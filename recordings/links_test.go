package recordings

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPublicHandlerNeedsTheCallsSignature(t *testing.T) {
	wav := readFile(t, "tone.wav")
	srv := newServer(t, serveBytes("audio/wav", wav))
	env := newEnv(t, nil)
	for _, id := range []string{"c-1", "c-2", "MzI0NjQ5/NjQ0MjoxMDE="} {
		if o := env.fetchOnce(t, urlEvent(id, srv.URL+"/rec.wav")); o.kind != outcomeStored {
			t.Fatalf("fetch %s: %d %q (%v)", id, o.kind, o.reason, o.err)
		}
	}
	links, err := NewLinks([]byte("0123456789abcdef0123456789abcdef"))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := NewLinks([]byte("fedcba9876543210fedcba9876543210"))
	h := env.s.PublicHandler(links)
	sig := func(l *Links, provider, id string) string {
		_, q, _ := strings.Cut(l.Path(provider, id), "?")
		return q
	}
	tests := []struct {
		name   string
		path   string
		status int
	}{
		{"signed link", links.Path(testProvider, "c-1"), http.StatusOK},
		{"signed link, call id with slash", links.Path(testProvider, "MzI0NjQ5/NjQ0MjoxMDE="), http.StatusOK},
		{"no signature", "/recordings/test/c-1", http.StatusForbidden},
		{"another call's signature", "/recordings/test/c-1?" + sig(links, testProvider, "c-2"), http.StatusForbidden},
		{"another provider's signature", "/recordings/test/c-1?" + sig(links, "zadarma", "c-1"), http.StatusForbidden},
		{"signed with another key", "/recordings/test/c-1?" + sig(other, testProvider, "c-1"), http.StatusForbidden},
		{"garbage signature", "/recordings/test/c-1?sig=!!!", http.StatusForbidden},
		{"signed, but no recording", links.Path(testProvider, "c-9"), http.StatusNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, tt.path, nil))
			if w.Code != tt.status {
				t.Fatalf("GET %s = %d, want %d (%s)", tt.path, w.Code, tt.status, w.Body)
			}
			if tt.status == http.StatusOK && !bytes.Equal(w.Body.Bytes(), wav) {
				t.Errorf("body: %d bytes, want the %d-byte recording", w.Body.Len(), len(wav))
			}
		})
	}
}

func TestLinkKeyIsCreatedOnceAndKept(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "recording-link.key")
	k1, err := LoadOrCreateLinkKey(path)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := LoadOrCreateLinkKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(k1) != LinkKeyBytes || !bytes.Equal(k1, k2) {
		t.Fatalf("keys %x and %x: want the same %d bytes", k1, k2, LinkKeyBytes)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file mode: %v %v, want 0600", fi.Mode(), err)
	}
	if err := os.WriteFile(path, []byte("short\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadOrCreateLinkKey(path); err == nil {
		t.Error("a malformed key file was accepted")
	}
}
