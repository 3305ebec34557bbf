package bitrix24

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Tokens are the OAuth tokens of the local application (§6.1). The access
// token lives an hour, the refresh token 180 days, and every refresh
// replaces both.
type Tokens struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token"`
	Expires      time.Time `json:"expires,omitzero"`
}

// TokenStore loads and persists Tokens. Save must be durable when it
// returns: the refresh token it replaces no longer works.
type TokenStore interface {
	Load() (Tokens, error)
	Save(Tokens) error
}

// FileTokenStore keeps Tokens as JSON in one file, written to a temporary
// file in the same directory, fsynced and renamed over the old one (mode
// 0600), so a crash leaves either the old or the new tokens.
type FileTokenStore struct {
	Path string
}

// Load reads the tokens.
func (s FileTokenStore) Load() (Tokens, error) {
	b, err := os.ReadFile(s.Path)
	if err != nil {
		return Tokens{}, fmt.Errorf("load bitrix24 tokens: %w", err)
	}
	var t Tokens
	if err := json.Unmarshal(b, &t); err != nil {
		return Tokens{}, fmt.Errorf("load bitrix24 tokens: %s: %w", s.Path, err)
	}
	if t.AccessToken == "" || t.RefreshToken == "" {
		return Tokens{}, fmt.Errorf("load bitrix24 tokens: %s: access_token and refresh_token are required", s.Path)
	}
	return t, nil
}

// Save writes the tokens atomically and durably.
func (s FileTokenStore) Save(t Tokens) (err error) {
	b, err := json.MarshalIndent(t, "", "  ")
	if err != nil {
		return fmt.Errorf("save bitrix24 tokens: %w", err)
	}
	dir := filepath.Dir(s.Path)
	f, err := os.CreateTemp(dir, "."+filepath.Base(s.Path)+".tmp*")
	if err != nil {
		return fmt.Errorf("save bitrix24 tokens: %w", err)
	}
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(f.Name())
		}
	}()
	if err := f.Chmod(0o600); err != nil {
		return fmt.Errorf("save bitrix24 tokens: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("save bitrix24 tokens: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("save bitrix24 tokens: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save bitrix24 tokens: %w", err)
	}
	if err := os.Rename(f.Name(), s.Path); err != nil {
		return fmt.Errorf("save bitrix24 tokens: %w", err)
	}
	return syncDir(dir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("save bitrix24 tokens: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil && !errors.Is(err, os.ErrInvalid) {
		return fmt.Errorf("save bitrix24 tokens: sync directory: %w", err)
	}
	return nil
}
