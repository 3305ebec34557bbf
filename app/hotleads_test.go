package app

import (
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/crmsync/bitrix24"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
	"github.com/callpulse/callpulse/internal/chtest"
)

// TestHotLeadsMoveToTheirStage: touches lift a Bitrix24 lead (named by its
// id) and a lead known by its phone over the scoring threshold; each is
// moved to crm.bitrix24.hot_lead_status once, and a lead that stays under
// it is not. The touches are dated an hour back, before the daemon started
// and its scans ran: they arrive late, as from a site that queued them.
func TestHotLeadsMoveToTheirStage(t *testing.T) {
	emu := bitrix24test.New(bitrix24test.Options{Users: []int{1}})
	t.Cleanup(emu.Close)
	phoneField := func(p string) []any { return []any{map[string]any{"VALUE": p, "VALUE_TYPE": "WORK"}} }
	byID := emu.Add("LEAD", bitrix24test.Fields{"TITLE": "by id", "STATUS_ID": "NEW", "STATUS_SEMANTIC_ID": "P"})
	byPhone := emu.Add("LEAD", bitrix24test.Fields{"TITLE": "by phone", "STATUS_ID": "NEW", "STATUS_SEMANTIC_ID": "P",
		"PHONE": phoneField("+79165550101")})
	cold := emu.Add("LEAD", bitrix24test.Fields{"TITLE": "cold", "STATUS_ID": "NEW", "STATUS_SEMANTIC_ID": "P"})

	dsn := chtest.NewDatabase(t)
	dataDir := t.TempDir()
	tok := emu.IssueTokens()
	tokensFile := filepath.Join(dataDir, "bitrix24-tokens.json")
	if err := (bitrix24.FileTokenStore{Path: tokensFile}).Save(bitrix24.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expires: tok.Expires}); err != nil {
		t.Fatal(err)
	}
	cfg := newConfig(t, dsn, dataDir)
	b := &cfg.CRM.Bitrix24
	b.Endpoint, b.ClientID, b.ClientSecret, b.OAuthURL = emu.Endpoint(), "app.test", "secret", emu.OAuthURL()
	b.TokensFile, b.DefaultUserID, b.HotLeadStatus, b.Pull.Interval = tokensFile, "1", "IN_PROCESS", 0
	d := startDaemon(t, cfg)
	d.waitDrained() // migrations applied
	deadline := time.Now().Add(60 * time.Second)
	// waitScan waits for a hot-lead scan that began at or after began to
	// complete (each sets the watermark to when it began).
	waitScan := func(began time.Time) {
		t.Helper()
		for {
			mark, err := d.app.crm.Watermark(hotLeadsMark)
			if err != nil {
				t.Fatal(err)
			}
			if !mark.Before(began) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatal("no hot-lead scan completed")
			}
			time.Sleep(20 * time.Millisecond) // polling the scan's watermark
		}
	}
	waitScan(time.Now()) // a scan ran before the touches arrive

	// The fallback threshold is 30 (no converted leads yet); an application
	// is worth 20, a pricing page 15, a site visit 5.
	at := func(ago time.Duration) string { return time.Now().Add(-time.Hour - ago).Format(time.RFC3339) }
	touches := fmt.Sprintf(`[
	  {"touch_id":"a1","lead_id":"L_%d","action":"application","at":"%s"},
	  {"touch_id":"a2","lead_id":"L_%d","action":"pricing_page","at":"%s"},
	  {"touch_id":"b1","phone":"+7 916 555-01-01","action":"application","at":"%s"},
	  {"touch_id":"b2","phone":"+7 916 555-01-01","action":"application","at":"%s"},
	  {"touch_id":"c1","lead_id":"L_%d","action":"site_visit","at":"%s"}]`,
		byID, at(2*time.Second), byID, at(time.Second), at(2*time.Second), at(time.Second), cold, at(time.Second))
	req, _ := http.NewRequest(http.MethodPost, d.base+"/api/v1/touches", strings.NewReader(touches))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+apiToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("touches: %d %s", resp.StatusCode, body)
	}

	status := func(id int) string {
		for _, l := range emu.Entities("LEAD") {
			if fmt.Sprint(l["ID"]) == fmt.Sprint(id) {
				return fmt.Sprint(l["STATUS_ID"])
			}
		}
		return ""
	}
	for status(byID) != "IN_PROCESS" || status(byPhone) != "IN_PROCESS" {
		if time.Now().After(deadline) {
			t.Fatalf("lead statuses: by id %s, by phone %s; want both IN_PROCESS", status(byID), status(byPhone))
		}
		time.Sleep(20 * time.Millisecond) // the scan runs every metrics.refresh_interval
	}
	// Two more complete scans move nothing again, and the cold lead stays.
	for range 2 {
		waitScan(time.Now())
	}
	if n := len(emu.Requests("crm.lead.update")); n != 2 {
		t.Errorf("crm.lead.update calls = %d, want 2 (each hot lead once)", n)
	}
	if s := status(cold); s != "NEW" {
		t.Errorf("the cold lead's status = %s, want NEW", s)
	}
}
