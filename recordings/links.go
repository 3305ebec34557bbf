package recordings

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// LinkKeyBytes is the size of a generated link key.
const LinkKeyBytes = 32

// Links signs and checks the public links to recordings that callpulse
// puts on CRM cards, where the CRM (Bitrix24 downloads the file; amoCRM's
// player streams it) and the managers reading the card have no API token:
//
//	GET /recordings/{provider}/{call_id}?sig=<base64url HMAC-SHA256(key, provider NUL call_id)>
//
// A link names one call and does not expire: it lives on the card as long
// as the card does. Rotating the key revokes every link at once.
type Links struct{ key []byte }

// NewLinks returns Links signing with key (at least 16 bytes).
func NewLinks(key []byte) (*Links, error) {
	if len(key) < 16 {
		return nil, errors.New("recording link key: want at least 16 bytes")
	}
	return &Links{key: key}, nil
}

func (l *Links) sign(provider, callID string) []byte {
	m := hmac.New(sha256.New, l.key)
	m.Write([]byte(provider))
	m.Write([]byte{0})
	m.Write([]byte(callID))
	return m.Sum(nil)
}

// Path is the signed path and query of a call's recording link; prefix it
// with callpulse's public URL.
func (l *Links) Path(provider, callID string) string {
	return "/recordings/" + url.PathEscape(provider) + "/" + url.PathEscape(callID) +
		"?sig=" + base64.RawURLEncoding.EncodeToString(l.sign(provider, callID))
}

// Valid reports whether sig is the signature of the call's link, in
// constant time.
func (l *Links) Valid(provider, callID, sig string) bool {
	got, err := base64.RawURLEncoding.DecodeString(sig)
	return err == nil && hmac.Equal(got, l.sign(provider, callID))
}

// PublicHandler serves recordings at signed links:
//
//	GET /recordings/{provider}/{call_id}?sig=…
//
// 403 without a valid signature, else as Handler. Mount it under
// /recordings/ outside the API token check.
func (s *Store) PublicHandler(l *Links) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /recordings/{provider}/{call_id...}", func(w http.ResponseWriter, r *http.Request) {
		if !l.Valid(r.PathValue("provider"), r.PathValue("call_id"), r.URL.Query().Get("sig")) {
			writeError(w, http.StatusForbidden, "invalid or missing recording link signature")
			return
		}
		s.serveRecording(w, r)
	})
	return mux
}

// LoadOrCreateLinkKey reads the link key kept in path, creating it with
// LinkKeyBytes random bytes (mode 0600) when it does not exist yet, so that
// links stay valid across restarts without configuration.
func LoadOrCreateLinkKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		key, derr := base64.RawURLEncoding.DecodeString(strings.TrimSpace(string(b)))
		if derr != nil || len(key) < 16 {
			return nil, fmt.Errorf("recording link key %s: want base64url of at least 16 bytes", path)
		}
		return key, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read recording link key: %w", err)
	}
	key := make([]byte, LinkKeyBytes)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("generate recording link key: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("create recording link key: %w", err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, os.ErrExist) { // another process created it first
			return LoadOrCreateLinkKey(path)
		}
		return nil, fmt.Errorf("create recording link key: %w", err)
	}
	_, werr := f.WriteString(base64.RawURLEncoding.EncodeToString(key) + "\n")
	serr := f.Sync()
	cerr := f.Close()
	if err := errors.Join(werr, serr, cerr); err != nil {
		return nil, fmt.Errorf("write recording link key: %w", err)
	}
	return key, nil
}
