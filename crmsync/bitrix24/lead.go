package bitrix24

import (
	"context"
	"fmt"
	"strings"

	"github.com/callpulse/callpulse/crmsync"
)

var _ crmsync.LeadMover = (*Client)(nil)

// MovesLeads reports whether Options.HotLeadStatus is set.
func (c *Client) MovesLeads() bool { return c.opts.HotLeadStatus != "" }

// MoveLead sets the lead's STATUS_ID to Options.HotLeadStatus
// (crm.lead.update). The lead is l.LeadID ("L_123", as the pull names
// leads, or "123"), else the first lead telephony.externalCall.
// searchCrmEntities finds for l.Phone; without one the error is permanent.
func (c *Client) MoveLead(ctx context.Context, l crmsync.HotLead) error {
	if c.opts.HotLeadStatus == "" {
		return invalid("move lead", "no hot lead status configured")
	}
	id := strings.TrimPrefix(l.LeadID, "L_")
	if l.LeadID != "" && !isDigits(id) {
		return invalid("move lead", "lead id %q: want L_<n> or <n>", l.LeadID)
	}
	if id == "" {
		ents, err := c.SearchEntities(ctx, l.Phone)
		if err != nil {
			return fmt.Errorf("move lead: %w", err)
		}
		for _, e := range ents {
			if e.Type == "LEAD" {
				id = e.ID
				break
			}
		}
		if id == "" {
			return &crmsync.Error{Reason: "no lead", Err: fmt.Errorf("bitrix24 move lead: no lead has the client's phone")}
		}
	}
	if _, err := c.Call(ctx, "crm.lead.update", map[string]any{
		"id":     id,
		"fields": map[string]any{"STATUS_ID": c.opts.HotLeadStatus},
	}); err != nil {
		return fmt.Errorf("move lead: %w", err)
	}
	return nil
}
