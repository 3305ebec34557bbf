package gravitel

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/ingest"
)

func FuzzParse(f *testing.F) {
	for _, pattern := range []string{"testdata/*.form", "testdata/bad/*.form"} {
		files, _ := filepath.Glob(pattern)
		for _, file := range files {
			if b, err := os.ReadFile(file); err == nil {
				f.Add(b, false)
			}
		}
	}
	p := newProvider(f)
	f.Fuzz(func(t *testing.T, body []byte, asMultipart bool) {
		r := request(body)
		if asMultipart {
			r.Header.Set("Content-Type", "multipart/form-data; boundary=xyz")
		}
		parsed, err := p.Parse(r, body, received)
		if err != nil {
			var ie *ingest.Error
			if !errors.As(err, &ie) || ie.Status < 400 || ie.Status > 499 {
				t.Fatalf("error is not a 4xx *ingest.Error: %v", err)
			}
			if len(parsed.Events) > 0 || parsed.Reply != nil {
				t.Fatal("refused request returned events or a reply")
			}
			return
		}
		if parsed.Reply == nil {
			t.Fatal("accepted request without a reply")
		}
		rec := httptest.NewRecorder()
		parsed.Reply(rec)
		if rec.Code != http.StatusOK {
			t.Fatalf("reply status %d", rec.Code)
		}
		for _, e := range parsed.Events {
			checkWellFormed(t, e)
		}
	})
}

// checkWellFormed asserts what every accepted event must satisfy.
func checkWellFormed(t *testing.T, e call.Event) {
	t.Helper()
	switch {
	case e.Provider != Name || e.CallID == "" || e.EventKey == "" || !e.ReceivedAt.Equal(received):
		t.Fatalf("event without identity: %+v", e)
	case !e.AnsweredAt.IsZero() && e.Status != call.StatusAnswered:
		t.Fatalf("answer time on an unanswered event: %+v", e)
	case e.Status == call.StatusMissed && e.Direction != call.DirectionInbound:
		t.Fatalf("missed outbound call: %+v", e)
	case !e.StartedAt.IsZero() && (e.AnsweredAt.Before(e.StartedAt) && !e.AnsweredAt.IsZero() ||
		e.EndedAt.Before(e.StartedAt) && !e.EndedAt.IsZero()):
		t.Fatalf("times out of order: %+v", e)
	case !e.AnsweredAt.IsZero() && !e.EndedAt.IsZero() && e.EndedAt.Before(e.AnsweredAt):
		t.Fatalf("ended before answered: %+v", e)
	case e.Manager == "" && e.ManagerRank != 0:
		t.Fatalf("rank without a manager: %+v", e)
	}
	if strings.HasPrefix(e.EventKey, "history:") && (e.StartedAt.IsZero() || e.Status == call.StatusNone) {
		t.Fatalf("history event without start or status: %+v", e)
	}
	for _, ph := range []string{e.ClientPhone, e.LinePhone} {
		if ph != "" && !strings.HasPrefix(ph, "+") {
			t.Fatalf("phone not in E.164: %+v", e)
		}
	}
}
