package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/callpulse/callpulse/app"
	"github.com/callpulse/callpulse/crmsync/bitrix24"
)

// runBitrix24Authorize exchanges the authorization code of the Bitrix24
// local application for its first OAuth tokens and writes them to the
// tokens file the daemon reads (and rewrites on every refresh).
func runBitrix24Authorize(ctx context.Context, args []string) error {
	fs, common := newFlagSet("bitrix24-authorize")
	code := fs.String("code", "", "the `CODE` parameter of the redirect after https://<portal>/oauth/authorize/?client_id=<client_id> (valid 30 s, once)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "usage: callpulse bitrix24-authorize --code CODE [--config FILE]")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *code == "" || fs.NArg() != 0 {
		fs.Usage()
		return errors.New("want --code and no arguments")
	}
	cfg, err := common.load()
	if err != nil {
		return err
	}
	b := cfg.CRM.Bitrix24
	if b.Endpoint == "" {
		return errors.New("crm.bitrix24.endpoint, client_id and client_secret must be configured first")
	}
	g, err := bitrix24.ExchangeCode(ctx, b.OAuthURL, b.ClientID, string(b.ClientSecret), *code, nil)
	if err != nil {
		return err
	}
	path := app.Bitrix24TokensFile(cfg)
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return fmt.Errorf("create the tokens directory: %w", err)
	}
	if err := (bitrix24.FileTokenStore{Path: path}).Save(g.Tokens); err != nil {
		return err
	}
	fmt.Printf("Bitrix24 tokens written to %s; the daemon refreshes them from now on.\n", path)
	if g.Endpoint != "" && strings.TrimRight(g.Endpoint, "/") != strings.TrimRight(b.Endpoint, "/") {
		fmt.Printf("Note: the portal's REST endpoint is %s, but crm.bitrix24.endpoint is %s.\n", g.Endpoint, b.Endpoint)
	}
	return nil
}
