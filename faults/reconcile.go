package faults

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
)

// SentCall is a call as the PBX side knows it after a run.
type SentCall struct {
	ID       string        `json:"id"`
	Phone    string        `json:"phone"`
	Known    bool          `json:"known"` // the CRM had a contact with Phone
	Want     Folded        `json:"want"`
	Webhooks []SentWebhook `json:"webhooks"` // those sent at least once
}

// SentWebhook is one webhook sent at least once.
type SentWebhook struct {
	Key   string `json:"key"`
	Acked bool   `json:"acked"` // some delivery got a 2xx
}

// Observed is what a run left in ClickHouse and in the CRM.
type Observed struct {
	// Events are the rows of call_events FINAL: ReplacingMergeTree's
	// de-duplicated view, the warehouse's definition of "once".
	Events []EventRow `json:"events"`
	// Calls are the rows of the `calls` view.
	Calls []Folded `json:"calls"`
	// CRMCalls are the call ids of the call notes on CRM cards, one entry
	// per note.
	CRMCalls []string `json:"crm_calls"`
	// Leads counts the CRM leads per client phone.
	Leads map[string]int `json:"leads"`
}

// EventRow is one row of call_events; Key is its event_key up to the "/".
type EventRow struct {
	CallID string `json:"call_id"`
	Key    string `json:"key"`
}

// Counts is the reconciliation of one run.
type Counts struct {
	// Webhooks is the number of distinct webhooks acknowledged with a 2xx;
	// each must be in call_events FINAL exactly once.
	Webhooks   int `json:"webhooks"`
	Stored     int `json:"stored"`     // of those, found
	Duplicates int `json:"duplicates"` // rows beyond the first, per acknowledged webhook
	Lost       int `json:"lost"`       // acknowledged but not found
	// CRMWant is the number of calls ClickHouse holds; each must be on a
	// CRM card exactly once, and an unknown caller must have one lead.
	CRMWant int `json:"crm_want"`
	CRMHave int `json:"crm_have"`
	CRMDup  int `json:"crm_dup"` // call notes beyond the first, leads beyond the first
	CRMLost int `json:"crm_lost"`
	// Wrong counts what should not exist at all: rows and CRM entries of
	// calls never sent or never stored, calls folded differently from what
	// their (all acknowledged) webhooks say, leads for known clients.
	Wrong int `json:"wrong"`
	// Examples describe the first few problems.
	Examples []string `json:"examples,omitempty"`
}

// OK reports whether nothing was lost, duplicated or wrong.
func (c Counts) OK() bool {
	return c.Lost == 0 && c.Duplicates == 0 && c.CRMLost == 0 && c.CRMDup == 0 && c.Wrong == 0
}

const maxExamples = 5

func (c *Counts) problem(format string, args ...any) {
	if len(c.Examples) < maxExamples {
		c.Examples = append(c.Examples, fmt.Sprintf(format, args...))
	}
}

// Reconcile compares what was sent with what was observed.
func Reconcile(sent []SentCall, obs Observed) Counts {
	var c Counts
	type eventID struct{ call, key string }
	rows := map[eventID]int{}
	for _, r := range obs.Events {
		rows[eventID{r.CallID, r.Key}]++
	}
	calls := map[string]*SentCall{}
	for i := range sent {
		calls[sent[i].ID] = &sent[i]
	}

	// Every acknowledged webhook in ClickHouse exactly once.
	for _, s := range sent {
		for _, w := range s.Webhooks {
			if !w.Acked {
				continue // may or may not have been stored: the PBX retries it
			}
			c.Webhooks++
			switch n := rows[eventID{s.ID, w.Key}]; {
			case n == 0:
				c.Lost++
				c.problem("webhook %s of call %s acknowledged but not in call_events", w.Key, s.ID)
			default:
				c.Stored++
				if n > 1 {
					c.Duplicates += n - 1
					c.problem("webhook %s of call %s is in call_events FINAL %d times", w.Key, s.ID, n)
				}
			}
		}
	}
	// Nothing in ClickHouse that was not sent.
	stored := map[string]bool{}
	byCall := func(a, b eventID) int { return cmp.Or(cmp.Compare(a.call, b.call), cmp.Compare(a.key, b.key)) }
	for _, id := range slices.SortedFunc(maps.Keys(rows), byCall) {
		s := calls[id.call]
		if s == nil || !hasWebhook(s, id.key) {
			c.Wrong += rows[id]
			c.problem("call_events has webhook %s of call %s, which was never sent", id.key, id.call)
			continue
		}
		stored[id.call] = true
	}
	// Calls whose webhooks were all acknowledged fold as they should.
	folded := map[string]Folded{}
	for _, f := range obs.Calls {
		folded[f.CallID] = f
	}
	for _, s := range sent {
		if !allAcked(s) {
			continue
		}
		if f, ok := folded[s.ID]; ok && f != s.Want {
			c.Wrong++
			c.problem("call %s folds to %+v, want %+v", s.ID, f, s.Want)
		}
	}

	// Every stored call on a CRM card exactly once; one lead per unknown caller.
	notes := map[string]int{}
	for _, id := range obs.CRMCalls {
		notes[id]++
	}
	for _, id := range slices.Sorted(maps.Keys(stored)) {
		c.CRMWant++
		switch n := notes[id]; {
		case n == 0:
			c.CRMLost++
			c.problem("call %s is in ClickHouse but not in the CRM", id)
		default:
			c.CRMHave++
			if n > 1 {
				c.CRMDup += n - 1
				c.problem("call %s is on CRM cards %d times", id, n)
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(notes)) {
		if !stored[id] {
			c.Wrong += notes[id]
			c.problem("the CRM has call %s, which ClickHouse does not", id)
		}
	}
	phones := map[string]*SentCall{}
	for i := range sent {
		phones[sent[i].Phone] = &sent[i]
	}
	for _, phone := range slices.Sorted(maps.Keys(obs.Leads)) {
		n := obs.Leads[phone]
		s := phones[phone]
		switch {
		case s == nil || s.Known:
			c.Wrong += n
			c.problem("%d lead(s) for %s, a number the CRM knew or nobody called from", n, phone)
		case n > 1:
			c.CRMDup += n - 1
			c.problem("%d leads for the unknown caller of call %s", n, s.ID)
		}
	}
	return c
}

func hasWebhook(s *SentCall, key string) bool {
	for _, w := range s.Webhooks {
		if w.Key == key {
			return true
		}
	}
	return false
}

func allAcked(s SentCall) bool {
	for _, w := range s.Webhooks {
		if !w.Acked {
			return false
		}
	}
	return len(s.Webhooks) == 2
}
