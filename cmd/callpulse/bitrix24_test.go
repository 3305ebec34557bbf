package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/crmsync/bitrix24"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
)

// TestBitrix24Authorize: the code from the portal's redirect becomes a
// tokens file the client can use; a code works once.
func TestBitrix24Authorize(t *testing.T) {
	srv := bitrix24test.New(bitrix24test.Options{})
	t.Cleanup(srv.Close)
	dir := t.TempDir()
	cfgPath := filepath.Join(dir, "callpulse.yml")
	cfg := "crm:\n  bitrix24:\n    endpoint: " + srv.Endpoint() + "\n    client_id: app.test\n    client_secret: secret\n" +
		"    oauth_url: " + srv.OAuthURL() + "\n    tokens_file: tokens.json\n    default_user_id: \"1\"\n"
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	code := srv.AuthorizationCode()
	out, exit := run(t, nil, "bitrix24-authorize", "--config", cfgPath, "--code", code)
	if exit != 0 || !strings.Contains(out, filepath.Join(dir, "tokens.json")) {
		t.Fatalf("exit %d, output %q; want 0 naming the tokens file", exit, out)
	}
	store := bitrix24.FileTokenStore{Path: filepath.Join(dir, "tokens.json")}
	c, err := bitrix24.New(bitrix24.Options{Endpoint: srv.Endpoint(), ClientID: "app.test", ClientSecret: "secret",
		Tokens: store, OAuthURL: srv.OAuthURL(), DefaultUserID: "1"})
	if err != nil {
		t.Fatalf("the written tokens do not load: %v", err)
	}
	if _, err := c.Call(t.Context(), "crm.lead.list", map[string]any{"start": -1}); err != nil {
		t.Fatalf("the written access token is refused: %v", err)
	}
	if strings.Contains(out, "secret") {
		t.Errorf("output shows the client secret: %q", out)
	}

	out, exit = run(t, nil, "bitrix24-authorize", "--config", cfgPath, "--code", code)
	if exit != 1 || !strings.Contains(out, "invalid_grant") {
		t.Errorf("second use of the code: exit %d, output %q; want 1 with invalid_grant", exit, out)
	}
}
