package zadarma

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

// FuzzParse feeds arbitrary form bodies to Parse. With sign set, the body is
// signed the way Zadarma would sign it, so that the fuzzer reaches the field
// mapping behind the signature check. Parse must never panic, must refuse
// with a 4xx *ingest.Error, and must otherwise return one well-formed event
// (or an echo reply).
func FuzzParse(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*", "*.http"))
	for _, file := range files {
		r := loadRequest(f, file)
		f.Add(r.Body, true)
		f.Add(r.Body, false)
	}
	p := newProvider(f)
	f.Fuzz(func(t *testing.T, body []byte, signIt bool) {
		r := httptest.NewRequest(http.MethodPost, "/webhooks/zadarma", strings.NewReader(string(body)))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if form, err := url.ParseQuery(string(body)); err == nil && signIt {
			if k, ok := kinds[form.Get("event")]; ok {
				r.Header.Set("Signature", sign([]byte(testSecret), k.signedString(form)))
			}
		}
		parsed, err := p.Parse(r, body, received)
		if err != nil {
			var ie *ingest.Error
			if !errors.As(err, &ie) || ie.Status < 400 || ie.Status > 499 {
				t.Fatalf("error is not a 4xx *ingest.Error: %v", err)
			}
			if len(parsed.Events) != 0 || parsed.Reply != nil {
				t.Fatalf("refused request returned events or a reply")
			}
			return
		}
		if parsed.Reply == nil || len(parsed.Events) > 1 {
			t.Fatalf("accepted request: reply set %v, %d events", parsed.Reply != nil, len(parsed.Events))
		}
		for _, e := range parsed.Events {
			checkWellFormed(t, e)
		}
	})
}

func checkWellFormed(t *testing.T, e call.Event) {
	t.Helper()
	switch {
	case e.Provider != Name || e.CallID == "" || len(e.CallID) > maxIDLen || e.EventKey == "":
		t.Fatalf("bad identity: %+v", e)
	case e.Direction > call.DirectionOutbound || e.Status > call.StatusAnswered || e.ManagerRank > call.ManagerAnswered:
		t.Fatalf("bad enum: %+v", e)
	case e.Status == call.StatusMissed && e.Direction != call.DirectionInbound:
		t.Fatalf("missed outbound call: %+v", e)
	case !e.EndedAt.IsZero() && e.EndedAt.Before(e.StartedAt):
		t.Fatalf("ends before it starts: %+v", e)
	case e.StartedAt.IsZero() && e.RecordingRef == "":
		t.Fatalf("neither a start time nor a recording: %+v", e)
	case e.Manager == "" && e.ManagerRank != 0, len(e.Manager) > maxManagerLen:
		t.Fatalf("bad manager: %+v", e)
	}
	for _, ph := range []string{e.ClientPhone, e.LinePhone} {
		if ph != "" && !strings.HasPrefix(ph, "+") {
			t.Fatalf("phone not in E.164: %+v", e)
		}
	}
	if _, err := e.Marshal(); err != nil {
		t.Fatalf("event does not marshal: %v", err)
	}
}
