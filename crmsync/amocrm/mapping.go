package amocrm

import (
	"strconv"
	"time"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/deal"
)

// mapLead turns a lead and its client's phone into a client and a deal.
func (c *Client) mapLead(l leadJSON, phone, name string) (client.Client, deal.Deal) {
	p := c.opts.Pull
	manager := p.Managers[strconv.FormatInt(l.ResponsibleUserID, 10)]
	source := c.source(l.CustomFields)
	cl := client.Client{Phone: phone, Name: name, Source: source, Manager: manager,
		Need: c.flag(l.CustomFields, p.NeedField), Budget: c.flag(l.CustomFields, p.BudgetField),
		Urgency: c.flag(l.CustomFields, p.UrgencyField)}
	cl.Category = c.category(l.CustomFields)
	if !cl.Category.Known() {
		cl.Category = client.Derive(cl.Need, cl.Budget, cl.Urgency)
	}
	d := deal.Deal{
		ID: strconv.FormatInt(l.ID, 10), Phone: phone, Stage: deal.StageOpen,
		Amount: deal.Amount(max(l.Price, 0)) * 100, Source: source, Manager: manager,
		CreatedAt: time.Unix(l.CreatedAt, 0).UTC(),
	}
	switch l.StatusID {
	case statusWon:
		d.Stage = deal.StageWon
	case statusLost:
		d.Stage = deal.StageLost
		if len(l.Embedded.LossReason) > 0 {
			d.LossReason = truncate(l.Embedded.LossReason[0].Name, deal.MaxLossReasonLen)
		}
	}
	if d.Stage != deal.StageOpen {
		closed := l.ClosedAt
		if closed == 0 {
			closed = l.UpdatedAt
		}
		d.ClosedAt = time.Unix(max(closed, l.CreatedAt), 0).UTC()
	}
	return cl, d
}

func (c *Client) category(cfs []customField) client.Category {
	p := c.opts.Pull
	v, enum := field(cfs, p.CategoryField)
	if cat, ok := p.CategoryValues[v]; ok {
		return cat
	}
	if cat, ok := p.CategoryValues[enum]; ok && enum != "" {
		return cat
	}
	cat, err := client.ParseCategory(v)
	if err != nil {
		return client.CategoryUnknown
	}
	return cat
}

func (c *Client) flag(cfs []customField, name string) client.Flag {
	v, enum := field(cfs, name)
	if f, ok := c.opts.Pull.FlagValues[v]; ok {
		return f
	}
	if f, ok := c.opts.Pull.FlagValues[enum]; ok && enum != "" {
		return f
	}
	f, err := client.ParseFlag(v)
	if err != nil {
		return client.FlagUnknown
	}
	return f
}

// source maps the source field's value through SourceValues (by value,
// then by enum id), or slugs it (deal.SourceSlug); "" if the lead has none.
func (c *Client) source(cfs []customField) string {
	v, enum := field(cfs, c.opts.Pull.SourceField)
	if s, ok := c.opts.Pull.SourceValues[v]; ok {
		return s
	}
	if s, ok := c.opts.Pull.SourceValues[enum]; ok && enum != "" {
		return s
	}
	return deal.SourceSlug(v)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n]
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
