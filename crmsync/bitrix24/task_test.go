package bitrix24

import (
	"context"
	"testing"
	"time"

	"github.com/callpulse/callpulse/crmsync"
	"github.com/callpulse/callpulse/crmsync/bitrix24/bitrix24test"
)

func TestCreateTask(t *testing.T) {
	task := crmsync.Task{Key: "zadarma:in_1", ClientPhone: "+79161234567", CRMUserID: "17",
		Title: "Call back", Description: "Missed call", Deadline: time.Date(2024, 5, 14, 9, 0, 0, 0, time.UTC)}
	phone := []any{map[string]any{"VALUE": "+7 (916) 123-45-67", "VALUE_TYPE": "WORK"}}
	tests := []struct {
		name      string
		kind      TaskKind
		contact   bool
		method    string
		want      map[string]string // params (for todo) or fields (for task)
		permanent string            // Reason of a permanent error
	}{
		{"todo on the contact", TaskTodo, true, "crm.activity.todo.add", map[string]string{
			"ownerTypeId": "3", "ownerId": "1", "deadline": "2024-05-14T12:00:00+03:00",
			"title": "Call back", "description": "Missed call", "responsibleId": "17"}, ""},
		{"todo without a CRM entity", TaskTodo, false, "", nil, "no CRM entity"},
		{"task linked to the contact", TaskTask, true, "tasks.task.add", map[string]string{
			"TITLE": "Call back", "RESPONSIBLE_ID": "17", "DEADLINE": "2024-05-14T12:00:00+03:00",
			"UF_CRM_TASK": "[C_1]", "CREATED_BY": "5"}, ""},
		{"task without a CRM entity", TaskTask, false, "tasks.task.add", map[string]string{
			"TITLE": "Call back", "UF_CRM_TASK": "<nil>"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t, func(o *Options) { o.Task = tt.kind; o.TaskCreatorID = "5" })
			if tt.contact {
				f.srv.Add("CONTACT", bitrix24test.Fields{"NAME": "Ivan", "PHONE": phone})
			}
			err := f.c.CreateTask(context.Background(), task)
			if tt.permanent != "" {
				if ce := classified(t, err); ce.Retryable || ce.Reason != tt.permanent {
					t.Fatalf("got %v, want permanent %s", err, tt.permanent)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			reqs := f.srv.Requests(tt.method)
			if len(reqs) != 1 {
				t.Fatalf("%d %s requests", len(reqs), tt.method)
			}
			p := reqs[0].Params
			if tt.kind == TaskTask {
				p, _ = p["fields"].(map[string]any)
			}
			for k, v := range tt.want {
				if got := str(p[k]); got != v {
					t.Errorf("%s = %s, want %s", k, got, v)
				}
			}
		})
	}
}

// With a webhook, tasks.task.add works (unlinked: the phone search is a
// telephony method) and a to-do cannot be placed.
func TestCreateTaskWebhook(t *testing.T) {
	f := newFixture(t, nil)
	for _, kind := range []TaskKind{TaskTask, TaskTodo} {
		c, err := New(Options{WebhookURL: f.srv.WebhookURL(), DefaultUserID: "1", Task: kind})
		if err != nil {
			t.Fatal(err)
		}
		err = c.CreateTask(context.Background(), crmsync.Task{ClientPhone: "+79161234567", Title: "x", Deadline: time.Now()})
		if kind == TaskTask && err != nil || kind == TaskTodo && !isPermanent(err) {
			t.Errorf("%s: %v", kind, err)
		}
	}
}

func isPermanent(err error) bool {
	ce := crmsync.Classify(err)
	return ce != nil && !ce.Retryable
}
