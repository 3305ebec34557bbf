package amocrm

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync"
)

// callStatus codes of POST /api/v4/calls (§7.3, SDK constants).
const (
	statusTalked   = 4 // conversation took place
	statusNoAnswer = 6 // could not get through
	statusBusy     = 7
)

// callNote is one element of the POST /api/v4/calls body (§7.3).
type callNote struct {
	Direction         string `json:"direction"`
	Uniq              string `json:"uniq"`
	Duration          uint32 `json:"duration"`
	Source            string `json:"source"`
	Link              string `json:"link,omitempty"`
	Phone             string `json:"phone"`
	CallResult        string `json:"call_result,omitempty"`
	CallStatus        int    `json:"call_status"`
	ResponsibleUserID int64  `json:"responsible_user_id,omitempty"`
	CallResponsible   int64  `json:"call_responsible,omitempty"`
	CreatedBy         int64  `json:"created_by,omitempty"`
	CreatedAt         int64  `json:"created_at,omitempty"`
	RequestID         string `json:"request_id"`
}

type callsResponse struct {
	Embedded struct {
		Calls []struct {
			ID         int64  `json:"id"`
			EntityID   int64  `json:"entity_id"`
			EntityType string `json:"entity_type"`
			RequestID  string `json:"request_id"`
		} `json:"calls"`
	} `json:"_embedded"`
}

// statusOf maps a call status to amoCRM's call_status and call_result
// (the spec's suggested mapping ❓: answered 4, busy 7, else 6).
func statusOf(s call.Status) (int, string) {
	switch s {
	case call.StatusAnswered:
		return statusTalked, "Разговор состоялся"
	case call.StatusBusy:
		return statusBusy, "Занято"
	case call.StatusMissed:
		return statusNoAnswer, "Пропущенный"
	case call.StatusCancelled:
		return statusNoAnswer, "Не дозвонились"
	}
	return statusNoAnswer, "Не удалось дозвониться"
}

func (c *Client) note(r crmsync.CallRecord) callNote {
	dir := "inbound"
	if r.Direction == call.DirectionOutbound {
		dir = "outbound"
	}
	st, res := statusOf(r.Status)
	uid := userID(r.CRMUserID)
	n := callNote{
		Direction: dir, Uniq: r.Key, Duration: r.TalkSeconds, Source: c.opts.Source, Link: r.RecordingURL,
		Phone: r.ClientPhone, CallResult: res, CallStatus: st,
		ResponsibleUserID: uid, CallResponsible: uid, CreatedBy: uid, RequestID: "0",
	}
	if !r.StartedAt.IsZero() {
		n.CreatedAt = r.StartedAt.Unix()
	}
	if r.Status != call.StatusAnswered {
		n.Duration = 0
	}
	return n
}

// PushCall adds the call to the card amoCRM finds by phone (POST
// /api/v4/calls, uniq = Key). If amoCRM attaches it nowhere (no card has
// the number) and CreateLeads is set, a lead with a contact is created and
// the call pushed again; otherwise that is a permanent error. The Ref is
// "<entity_type>:<entity_id>:<call id>".
func (c *Client) PushCall(ctx context.Context, r crmsync.CallRecord) (crmsync.Ref, error) {
	ref, ok, err := c.postCall(ctx, r)
	if err != nil || ok {
		return ref, err
	}
	if !c.opts.CreateLeads {
		return crmsync.Ref{}, &crmsync.Error{Reason: "no amoCRM card has the caller's number and create_leads is off"}
	}
	if err := c.createLead(ctx, r); err != nil {
		return crmsync.Ref{}, err
	}
	ref, ok, err = c.postCall(ctx, r)
	if err != nil || ok {
		return ref, err
	}
	// The new lead is not searchable yet: retry later rather than create another.
	return crmsync.Ref{}, &crmsync.Error{Retryable: true, Reason: "call not attached to the new lead yet"}
}

// MaxBatch is the most calls one PushCalls posts in one request. §7.3 gives
// no limit; 50 keeps a request small.
const MaxBatch = 50

var _ crmsync.BatchPusher = (*Client)(nil)

// MaxBatch is the most calls PushCalls takes.
func (c *Client) MaxBatch() int { return MaxBatch }

// PushCalls posts the calls in one POST /api/v4/calls (the body is a batch,
// §7.3; request_id matches each answer to its call). A call amoCRM
// attached nowhere (its request_id is missing from the answer) then goes
// through PushCall, which creates a lead for it when CreateLeads is set. A
// failed request fails every call.
func (c *Client) PushCalls(ctx context.Context, rs []crmsync.CallRecord) []crmsync.PushResult {
	out := make([]crmsync.PushResult, len(rs))
	notes := make([]callNote, len(rs))
	for i, r := range rs {
		notes[i] = c.note(r)
		notes[i].RequestID = strconv.Itoa(i)
	}
	var resp callsResponse
	if _, err := c.do(ctx, http.MethodPost, "/api/v4/calls", notes, &resp, nil); err != nil {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	attached := make([]bool, len(rs))
	for _, cl := range resp.Embedded.Calls {
		i, err := strconv.Atoi(cl.RequestID)
		if err != nil || i < 0 || i >= len(rs) || cl.EntityID == 0 {
			continue
		}
		e := entity{Type: cl.EntityType, ID: cl.EntityID}
		c.remember(rs[i].Key, e)
		out[i].Ref = crmsync.Ref{ID: fmt.Sprintf("%s:%d:%d", e.Type, e.ID, cl.ID), Recording: rs[i].RecordingURL != ""}
		attached[i] = true
	}
	for i, r := range rs {
		if !attached[i] {
			out[i].Ref, out[i].Err = c.PushCall(ctx, r)
		}
	}
	return out
}

func (c *Client) postCall(ctx context.Context, r crmsync.CallRecord) (crmsync.Ref, bool, error) {
	var out callsResponse
	if _, err := c.do(ctx, http.MethodPost, "/api/v4/calls", []callNote{c.note(r)}, &out, nil); err != nil {
		return crmsync.Ref{}, false, err
	}
	for _, cl := range out.Embedded.Calls {
		if cl.RequestID == "0" && cl.EntityID != 0 {
			e := entity{Type: cl.EntityType, ID: cl.EntityID}
			c.remember(r.Key, e)
			return crmsync.Ref{ID: fmt.Sprintf("%s:%d:%d", e.Type, e.ID, cl.ID), Recording: r.RecordingURL != ""}, true, nil
		}
	}
	return crmsync.Ref{}, false, nil
}

// createLead adds a lead with a contact holding the phone (POST
// /api/v4/leads/complex ❓: not in the spec, from the amoCRM API docs).
func (c *Client) createLead(ctx context.Context, r crmsync.CallRecord) error {
	type value struct {
		Value    string `json:"value"`
		EnumCode string `json:"enum_code,omitempty"`
	}
	type field struct {
		FieldCode string  `json:"field_code"`
		Values    []value `json:"values"`
	}
	type contact struct {
		FirstName    string  `json:"first_name"`
		CustomFields []field `json:"custom_fields_values"`
	}
	type lead struct {
		Name              string `json:"name"`
		ResponsibleUserID int64  `json:"responsible_user_id,omitempty"`
		Embedded          struct {
			Contacts []contact `json:"contacts"`
		} `json:"_embedded"`
		RequestID string `json:"request_id"`
	}
	l := lead{Name: "Звонок " + r.ClientPhone, ResponsibleUserID: userID(r.CRMUserID), RequestID: "0"}
	l.Embedded.Contacts = []contact{{FirstName: r.ClientPhone, CustomFields: []field{{FieldCode: "PHONE", Values: []value{{Value: r.ClientPhone, EnumCode: "WORK"}}}}}}
	if _, err := c.do(ctx, http.MethodPost, "/api/v4/leads/complex", []lead{l}, nil, nil); err != nil {
		return fmt.Errorf("create lead for unknown caller: %w", err)
	}
	return nil
}

// AttachRecording sets the recording link of a pushed call by updating its
// call note (PATCH /api/v4/<entity_type>/notes ❓: the calls API has no
// update; the call id it returns is the note id).
func (c *Client) AttachRecording(ctx context.Context, ref crmsync.Ref, r crmsync.CallRecord) error {
	parts := strings.Split(ref.ID, ":")
	if len(parts) != 3 {
		return &crmsync.Error{Reason: fmt.Sprintf("bad amoCRM call ref %q", ref.ID)}
	}
	id, err := strconv.ParseInt(parts[2], 10, 64)
	if err != nil {
		return &crmsync.Error{Reason: fmt.Sprintf("bad amoCRM call ref %q", ref.ID)}
	}
	n := c.note(r)
	noteType := "call_in"
	if n.Direction == "outbound" {
		noteType = "call_out"
	}
	body := []map[string]any{{
		"id": id, "note_type": noteType,
		"params": map[string]any{"uniq": n.Uniq, "duration": n.Duration, "source": n.Source, "link": r.RecordingURL, "phone": n.Phone},
	}}
	_, err = c.do(ctx, http.MethodPatch, "/api/v4/"+parts[0]+"/notes", body, nil, nil)
	return err
}

// CreateTask adds a call-back task (POST /api/v4/tasks, task_type_id 1)
// linked to the card the call was pushed to, or unlinked if this process
// did not push it (the text names the phone then).
func (c *Client) CreateTask(ctx context.Context, t crmsync.Task) error {
	task := map[string]any{
		"text":          strings.TrimSpace(t.Title + "\n" + t.Description),
		"complete_till": t.Deadline.Unix(),
		"task_type_id":  1,
		"request_id":    "0",
	}
	if uid := userID(t.CRMUserID); uid != 0 {
		task["responsible_user_id"] = uid
	}
	if e, ok := c.entity(t.Key); ok {
		task["entity_id"], task["entity_type"] = e.ID, e.Type
	}
	_, err := c.do(ctx, http.MethodPost, "/api/v4/tasks", []map[string]any{task}, nil, nil)
	return err
}

var _ crmsync.LeadMover = (*Client)(nil)

// MovesLeads reports whether Options.HotLeadStatusID is set.
func (c *Client) MovesLeads() bool { return c.opts.HotLeadStatusID != 0 }

// MoveLead moves the lead to Options.HotLeadStatusID (and
// HotLeadPipelineID when set) with PATCH /api/v4/leads/{id}. amoCRM leads
// are found by id only: a hot lead known only by its phone is a permanent
// error.
func (c *Client) MoveLead(ctx context.Context, l crmsync.HotLead) error {
	id, err := strconv.ParseInt(l.LeadID, 10, 64)
	if err != nil || id <= 0 {
		return &crmsync.Error{Reason: "no lead id", Err: fmt.Errorf("amocrm move lead: want a numeric lead id, got %q", l.LeadID)}
	}
	body := map[string]any{"status_id": c.opts.HotLeadStatusID}
	if c.opts.HotLeadPipelineID != 0 {
		body["pipeline_id"] = c.opts.HotLeadPipelineID
	}
	if _, err := c.do(ctx, http.MethodPatch, "/api/v4/leads/"+strconv.FormatInt(id, 10), body, nil, nil); err != nil {
		return fmt.Errorf("move lead: %w", err)
	}
	return nil
}
