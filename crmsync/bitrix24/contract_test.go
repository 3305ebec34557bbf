package bitrix24_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync/bitrix24"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
	"github.com/callpulse/callpulse/crmsync/crmtest"
)

// backend adapts the Bitrix24 emulator to the contract suite's Backend.
type backend struct{ srv *bitrix24test.Server }

func (b backend) KnowPhone(phone string) {
	b.srv.Add("CONTACT", bitrix24test.Fields{"NAME": "Contract", "PHONE": []any{map[string]any{"VALUE": phone, "VALUE_TYPE": "WORK"}}})
}

// FailNext answers the next n requests with the Bitrix24 error the spec
// documents for that status (§6.6).
func (b backend) FailNext(n, status int, retryAfter time.Duration) {
	code := map[int]string{429: "OPERATION_TIME_LIMIT", 503: "QUERY_LIMIT_EXCEEDED", 500: "INTERNAL_SERVER_ERROR"}[status]
	f := bitrix24test.Fault{Status: status, Code: code}
	if retryAfter > 0 {
		f.RetryAfter = strconv.Itoa(int(retryAfter / time.Second))
	}
	for range n {
		b.srv.Fail("", f)
	}
}

func (b backend) HangNext(n int) {
	for range n {
		b.srv.Fail("", bitrix24test.Fault{Hang: true})
	}
}

func (b backend) RevokeAuth() { b.srv.RevokeTokens() }

func (b backend) Calls() []crmtest.Call {
	var out []crmtest.Call
	for _, c := range b.srv.Calls() {
		cc := crmtest.Call{Key: c.ExternalCallID, Phone: "+" + strings.TrimPrefix(c.Phone, "+"), UserID: strconv.Itoa(c.UserID)}
		switch c.Type {
		case 1:
			cc.Direction = call.DirectionOutbound
		case 2:
			cc.Direction = call.DirectionInbound
		}
		if c.Finish != nil {
			code := str(c.Finish["STATUS_CODE"])
			cc.Duration, _ = strconv.Atoi(str(c.Finish["DURATION"]))
			cc.Answered = code == "200" || code == "" && cc.Duration > 0
		}
		if n := len(c.Records); n > 0 {
			cc.RecordingURL = str(c.Records[n-1]["RECORD_URL"])
		}
		out = append(out, cc)
	}
	return out
}

func (b backend) Tasks() []crmtest.Task {
	phones := map[string]string{} // "C_7" → E.164
	for kind, prefix := range map[string]string{"CONTACT": "C", "LEAD": "L", "COMPANY": "CO"} {
		for _, e := range b.srv.Entities(kind) {
			if ph, ok := e["PHONE"].([]any); ok && len(ph) > 0 {
				if m, ok := ph[0].(map[string]any); ok {
					phones[prefix+"_"+str(e["ID"])] = "+" + strings.TrimPrefix(str(m["VALUE"]), "+")
				}
			}
		}
	}
	var out []crmtest.Task
	for _, t := range b.srv.Todos() {
		dl, _ := time.Parse(time.RFC3339, t.Deadline)
		out = append(out, crmtest.Task{Phone: phones[t.Owner], UserID: strconv.Itoa(t.ResponsibleID), Deadline: dl, Text: t.Title + "\n" + t.Description})
	}
	return out
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}

// TestContract runs the shared CRM contract suite against the Bitrix24
// client and its emulator, once per task kind.
func TestContract(t *testing.T) {
	for _, kind := range []bitrix24.TaskKind{bitrix24.TaskTodo, bitrix24.TaskTask} {
		t.Run(string(kind), func(t *testing.T) {
			crmtest.Run(t, func(t *testing.T) crmtest.Harness {
				srv := bitrix24test.New(bitrix24test.Options{Users: []int{1, 6543210}})
				t.Cleanup(srv.Close)
				tok := srv.IssueTokens()
				store := bitrix24.FileTokenStore{Path: t.TempDir() + "/tokens.json"}
				if err := store.Save(bitrix24.Tokens{AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, Expires: tok.Expires}); err != nil {
					t.Fatal(err)
				}
				c, err := bitrix24.New(bitrix24.Options{
					Endpoint: srv.Endpoint(), ClientID: "app.test", ClientSecret: "secret", Tokens: store,
					OAuthURL: srv.OAuthURL(), DefaultUserID: "1", CreateUnknown: true, Task: kind,
				})
				if err != nil {
					t.Fatal(err)
				}
				return crmtest.Harness{Pusher: c, Backend: backend{srv}}
			})
		})
	}
}
