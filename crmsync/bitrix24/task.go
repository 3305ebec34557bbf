package bitrix24

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/callpulse/callpulse/crmsync"
)

// Entity is a CRM item found for a phone number.
type Entity struct {
	Type string // CONTACT, COMPANY or LEAD
	ID   string
}

// ownerTypeIDs and taskPrefixes are the CRM entity type ids and UF_CRM_TASK
// prefixes of §6.9.
var (
	ownerTypeIDs = map[string]int{"LEAD": 1, "DEAL": 2, "CONTACT": 3, "COMPANY": 4}
	taskPrefixes = map[string]string{"LEAD": "L", "DEAL": "D", "CONTACT": "C", "COMPANY": "CO"}
)

// flexString decodes a JSON string or number into a string (Bitrix24 sends
// ids both ways).
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*f = ""
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
		return nil
	}
	var n json.Number
	if err := json.Unmarshal(b, &n); err != nil {
		return err
	}
	*f = flexString(n.String())
	return nil
}

// SearchEntities returns the CRM items Bitrix24 links to the phone number
// (telephony.externalCall.searchCrmEntities, §6.5), in Bitrix24's order.
func (c *Client) SearchEntities(ctx context.Context, e164 string) ([]Entity, error) {
	raw, err := c.Call(ctx, "telephony.externalCall.searchCrmEntities", map[string]any{"PHONE_NUMBER": bitrixPhone(e164)})
	if err != nil {
		return nil, fmt.Errorf("search crm entities: %w", err)
	}
	var found []struct {
		Type flexString `json:"CRM_ENTITY_TYPE"`
		ID   flexString `json:"CRM_ENTITY_ID"`
	}
	if string(raw) != "false" { // PHP's "nothing"
		if err := json.Unmarshal(raw, &found); err != nil {
			return nil, malformed("telephony.externalCall.searchCrmEntities", err)
		}
	}
	out := make([]Entity, 0, len(found))
	for _, f := range found {
		if _, ok := ownerTypeIDs[strings.ToUpper(string(f.Type))]; ok && f.ID != "" {
			out = append(out, Entity{Type: strings.ToUpper(string(f.Type)), ID: string(f.ID)})
		}
	}
	return out, nil
}

// CreateTask adds a callback for the manager on the client's CRM card: a
// to-do (crm.activity.todo.add) on the first CRM item searchCrmEntities
// finds for t.ClientPhone, or with Options.Task = TaskTask a task
// (tasks.task.add) linked to it through UF_CRM_TASK. A to-do needs an
// item: without one the error is permanent ("no CRM entity"). Bitrix24 has
// no idempotency key for either method, so a retried CreateTask whose
// first answer was lost adds a second task. A Priority to-do is due at once
// and pings the manager at its deadline (pingOffsets [0], §6.10).
func (c *Client) CreateTask(ctx context.Context, t crmsync.Task) error {
	user, err := c.userID(t.CRMUserID)
	if err != nil {
		return err
	}
	if t.ClientPhone == "" || t.Deadline.IsZero() {
		return invalid("create task", "client phone and deadline are required")
	}
	// Telephony search needs an application; with a webhook a task is
	// added unlinked and a to-do is impossible.
	var ents []Entity
	if c.opts.WebhookURL == "" {
		if ents, err = c.SearchEntities(ctx, t.ClientPhone); err != nil {
			return fmt.Errorf("create task: %w", err)
		}
	}
	deadline := t.Deadline.In(c.opts.Location).Format(isoLayout)
	switch c.opts.Task {
	case TaskTask:
		fields := map[string]any{
			"TITLE":          t.Title,
			"DESCRIPTION":    t.Description,
			"RESPONSIBLE_ID": user,
			"DEADLINE":       deadline,
		}
		if c.opts.TaskCreatorID != "" {
			fields["CREATED_BY"] = c.opts.TaskCreatorID
		}
		if len(ents) > 0 {
			links := make([]string, len(ents))
			for i, e := range ents {
				links[i] = taskPrefixes[e.Type] + "_" + e.ID
			}
			fields["UF_CRM_TASK"] = links
		}
		_, err = c.Call(ctx, "tasks.task.add", map[string]any{"fields": fields})
	default:
		if len(ents) == 0 {
			return &crmsync.Error{Reason: "no CRM entity", Err: fmt.Errorf("bitrix24 create task: no contact, company or lead has the client's phone")}
		}
		todo := map[string]any{
			"ownerTypeId":   ownerTypeIDs[ents[0].Type],
			"ownerId":       ents[0].ID,
			"deadline":      deadline,
			"title":         t.Title,
			"description":   t.Description,
			"responsibleId": user,
		}
		if t.Priority {
			todo["pingOffsets"] = []any{0} // remind at the deadline: at once
		}
		_, err = c.Call(ctx, "crm.activity.todo.add", todo)
	}
	if err != nil {
		return fmt.Errorf("create task: %w", err)
	}
	return nil
}
