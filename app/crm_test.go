package app

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/config"
	"github.com/callpulse/callpulse/crmsync/amocrm/amocrmtest"
	"github.com/callpulse/callpulse/crmsync/bitrix24"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
	"github.com/callpulse/callpulse/internal/chtest"
	"github.com/callpulse/callpulse/warehouse"
)

// TestCRMPushExactlyOnce: webhooks in, each call lands in the amoCRM
// emulator once — with every webhook delivered twice and a daemon restart
// in the middle — and the missed inbound call becomes a callback task.
func TestCRMPushExactlyOnce(t *testing.T) {
	emu := amocrmtest.New(amocrmtest.Options{Token: "amo-token"})
	t.Cleanup(emu.Close)
	for _, p := range []string{"+79160000001", "+79160000002", "+79160000003", "+79160000004"} {
		emu.KnowPhone(p)
	}
	dsn := chtest.NewDatabase(t)
	dataDir := t.TempDir()
	cfg := func() *config.Config {
		c := newConfig(t, dsn, dataDir)
		c.CRM.AmoCRM.BaseURL, c.CRM.AmoCRM.Token = emu.URL, "amo-token"
		c.CRM.AmoCRM.Pull.Interval = 0
		c.CRM.Settle = 10 * time.Millisecond
		return c
	}
	d := startDaemon(t, cfg())
	for _, body := range fixtureCalls[:5] {
		for range 2 {
			if code, resp := d.post(body, genericToken); code != http.StatusOK {
				t.Fatalf("post: %d %s", code, resp)
			}
		}
	}
	d.stop()
	d = startDaemon(t, cfg())
	for _, body := range fixtureCalls[:5] {
		if code, resp := d.post(body, genericToken); code != http.StatusOK {
			t.Fatalf("post after restart: %d %s", code, resp)
		}
	}

	deadline := time.Now().Add(60 * time.Second)
	for len(emu.Calls()) < 5 || len(emu.Tasks()) < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("emulator got %d calls and %d tasks, want 5 and 1", len(emu.Calls()), len(emu.Tasks()))
		}
		time.Sleep(20 * time.Millisecond) // the outbox pushes asynchronously
	}
	seen := map[string]int{}
	for _, c := range emu.Calls() {
		seen[c.Key]++
	}
	for key, n := range seen {
		if n != 1 {
			t.Errorf("call %s pushed %d times, want once", key, n)
		}
	}
	if len(seen) != 5 {
		t.Errorf("distinct calls pushed = %d, want 5: %v", len(seen), seen)
	}
	if n := len(emu.Tasks()); n != 1 {
		t.Errorf("callback tasks = %d, want 1 (for the missed call c5)", n)
	}
}

// TestBitrix24PushExactlyOnce: webhooks in, each call registered and
// finished in the Bitrix24 emulator once — with every webhook delivered
// twice and a daemon restart in the middle — with the manager mapped to
// its Bitrix24 user and the outcome to its STATUS_CODE; the recording is
// attached as a signed public link that serves the file without a token;
// the missed inbound call becomes a to-do for the callback; the call of a
// client already in the base is a repeat lead, notified at once to the
// client's manager.
func TestBitrix24PushExactlyOnce(t *testing.T) {
	emu := bitrix24test.New(bitrix24test.Options{Users: []int{1, 17}})
	t.Cleanup(emu.Close)
	audio := []byte("ID3 fake mp3 recording of c1")
	recSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "audio/mpeg")
		_, _ = w.Write(audio)
	}))
	t.Cleanup(recSrv.Close)

	dsn := chtest.NewDatabase(t)
	dataDir := t.TempDir()
	tokens := emu.IssueTokens()
	tokensFile := filepath.Join(dataDir, "bitrix24-tokens.json")
	if err := (bitrix24.FileTokenStore{Path: tokensFile}).Save(bitrix24.Tokens{AccessToken: tokens.AccessToken, RefreshToken: tokens.RefreshToken, Expires: tokens.Expires}); err != nil {
		t.Fatal(err)
	}
	const publicURL = "https://callpulse.example.com"
	cfg := func() *config.Config {
		c := newConfig(t, dsn, dataDir)
		b := &c.CRM.Bitrix24
		b.Endpoint, b.ClientID, b.ClientSecret, b.OAuthURL = emu.Endpoint(), "app.test", "secret", emu.OAuthURL()
		b.TokensFile, b.DefaultUserID, b.Users = tokensFile, "1", map[string]string{"101": "17"}
		b.Pull.Interval = 0
		c.CRM.PublicURL, c.CRM.Settle, c.CRM.RecordingPoll = publicURL, 10*time.Millisecond, 20*time.Millisecond
		c.Webhooks.Generic.RecordingHosts = []string{"127.0.0.1"}
		c.Recordings.AllowPrivate, c.Recordings.Delay = []string{"generic"}, 10*time.Millisecond
		return c
	}
	bodies := slices.Clone(fixtureCalls[:5])
	bodies[0] = withRecording(t, bodies[0], recSrv.URL+"/c1.mp3")
	// c3's caller was graded on Nov 1, with manager 101 (Bitrix24 user 17).
	db, err := warehouse.Open(dsn, warehouse.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(t.Context()); err != nil {
		t.Fatal(err)
	}
	known := client.Client{Phone: "+79160000003", Category: client.CategoryA, Manager: "101"}
	if err := db.UpsertClients(t.Context(), []client.Client{known}, "csv", time.Date(2026, 11, 1, 9, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, cfg())
	for _, body := range bodies {
		for range 2 {
			if code, resp := d.post(body, genericToken); code != http.StatusOK {
				t.Fatalf("post: %d %s", code, resp)
			}
		}
	}
	d.stop()
	d = startDaemon(t, cfg())
	for _, body := range bodies {
		if code, resp := d.post(body, genericToken); code != http.StatusOK {
			t.Fatalf("post after restart: %d %s", code, resp)
		}
	}

	done := func() bool {
		finished, attached := 0, false
		for _, c := range emu.Calls() {
			if c.Finish != nil {
				finished++
			}
			attached = attached || len(c.Records) > 0
		}
		return finished >= 5 && attached && len(emu.Todos()) >= 2
	}
	deadline := time.Now().Add(60 * time.Second)
	for !done() {
		if time.Now().After(deadline) {
			t.Fatalf("emulator holds calls %+v and to-dos %+v; want 5 finished calls, c1's recording and 1 to-do", emu.Calls(), emu.Todos())
		}
		time.Sleep(20 * time.Millisecond) // the outbox pushes asynchronously
	}

	byKey := map[string][]bitrix24test.Call{}
	for _, c := range emu.Calls() {
		byKey[c.ExternalCallID] = append(byKey[c.ExternalCallID], c)
	}
	want := map[string]struct {
		user     int
		status   string
		duration string
	}{
		"generic:c1": {17, "200", "274"}, "generic:c2": {17, "200", "120"}, "generic:c3": {1, "200", "60"},
		"generic:c4": {1, "200", "30"}, "generic:c5": {1, "304", "0"},
	}
	if len(byKey) != len(want) {
		t.Errorf("calls registered: %d distinct keys, want %d", len(byKey), len(want))
	}
	for key, w := range want {
		cs := byKey[key]
		if len(cs) != 1 {
			t.Errorf("%s registered %d times, want once", key, len(cs))
			continue
		}
		c := cs[0]
		if c.UserID != w.user || fmt.Sprint(c.Finish["STATUS_CODE"]) != w.status || fmt.Sprint(c.Finish["DURATION"]) != w.duration {
			t.Errorf("%s: user %d, finish %v; want user %d, STATUS_CODE %s, DURATION %s", key, c.UserID, c.Finish, w.user, w.status, w.duration)
		}
	}
	if n := len(emu.Requests("telephony.externalcall.finish")); n != len(want) {
		t.Errorf("finish requests = %d, want %d (one per call)", n, len(want))
	}

	c1 := byKey["generic:c1"][0]
	if len(c1.Records) != 1 {
		t.Fatalf("c1 recordings attached = %d, want 1", len(c1.Records))
	}
	link := fmt.Sprint(c1.Records[0]["RECORD_URL"])
	if !strings.HasPrefix(link, publicURL+"/recordings/generic/c1?sig=") {
		t.Fatalf("RECORD_URL = %q, want a signed link under %s/recordings/", link, publicURL)
	}
	path := strings.TrimPrefix(link, publicURL)
	if code, body := d.get(path, ""); code != http.StatusOK || !bytes.Equal(body, audio) {
		t.Errorf("GET the signed link without a token = %d (%d bytes), want 200 with the recording", code, len(body))
	}
	if code, _ := d.get("/recordings/generic/c2"+path[strings.Index(path, "?"):], ""); code != http.StatusForbidden {
		t.Errorf("c1's signature on c2's link = %d, want 403", code)
	}

	var callbacks, repeats []bitrix24test.Todo
	for _, td := range emu.Todos() {
		if strings.Contains(td.Title, "Повторное") {
			repeats = append(repeats, td)
		} else {
			callbacks = append(callbacks, td)
		}
	}
	if len(callbacks) != 1 || callbacks[0].Method != "crm.activity.todo.add" || callbacks[0].ResponsibleID != 1 {
		t.Errorf("callback to-dos = %+v, want one crm.activity.todo.add for user 1 (c5 was missed)", callbacks)
	}
	if len(repeats) != 1 || repeats[0].ResponsibleID != 17 || !slices.Equal(repeats[0].PingOffsets, []int{0}) {
		t.Errorf("repeat-lead to-dos = %+v, want one for user 17 (the client's manager) pinging at once", repeats)
	}
}

// withRecording adds recording_url to a generic webhook body.
func withRecording(t *testing.T, body, url string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(body), &m); err != nil {
		t.Fatal(err)
	}
	m["recording_url"] = url
	b, _ := json.Marshal(m)
	return string(b)
}
