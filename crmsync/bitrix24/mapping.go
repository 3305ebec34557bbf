package bitrix24

import (
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/deal"
)

// str returns a field as a string: strings as they are, numbers in their
// JSON form, true/false as "Y"/"N", the first element of a multiple
// (list) field, and "" for null or absent fields.
func (r record) str(field string) string {
	raw, ok := r[field]
	if !ok || len(raw) == 0 {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		_ = json.Unmarshal(raw, &s)
		return strings.TrimSpace(s)
	case '[':
		var l []json.RawMessage
		if json.Unmarshal(raw, &l) != nil || len(l) == 0 {
			return ""
		}
		return record{"v": l[0]}.str("v")
	case 't':
		return "Y"
	case 'f':
		return "N"
	case 'n', '{':
		return ""
	}
	return string(raw)
}

// time parses an ISO-8601 field; zero if absent or malformed.
func (r record) time(field string) time.Time {
	t, err := time.Parse(time.RFC3339, r.str(field))
	if err != nil {
		return time.Time{}
	}
	return t
}

// phones returns the values of a multifield ([{"VALUE":…,"VALUE_TYPE":…}]).
func (r record) phones(field string) []string {
	var mf []struct {
		Value string `json:"VALUE"`
	}
	if json.Unmarshal(r[field], &mf) != nil {
		return nil
	}
	var out []string
	for _, v := range mf {
		if s := strings.TrimSpace(v.Value); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// mapper turns leads and deals into clients and deals per PullOptions.
type mapper struct {
	opts     PullOptions
	norm     Normalizer
	log      *slog.Logger
	contacts map[string]record

	clients map[string]client.Client // by phone
	order   []string
	deals   []deal.Deal
}

func (m *mapper) result() ([]client.Client, []deal.Deal) {
	cs := make([]client.Client, 0, len(m.order))
	for _, p := range m.order {
		cs = append(cs, m.clients[p])
	}
	return cs, m.deals
}

// phone is the record's own first phone, else its contact's, in E.164.
func (m *mapper) phone(r record) (phone string, contact record) {
	contact = m.contacts[r.str("CONTACT_ID")]
	for _, p := range append(r.phones("PHONE"), contact.phones("PHONE")...) {
		if e, err := m.norm.Normalize(p); err == nil {
			return e, contact
		}
	}
	return "", contact
}

func (m *mapper) lead(r record) {
	ph, contact := m.phone(r)
	if ph == "" {
		m.log.Debug("bitrix24: lead without a usable phone skipped", "lead", r.str("ID"))
		return
	}
	m.client(r, ph, name(r, contact))
	if m.opts.LeadsAsDeals {
		closed := r.time("DATE_CLOSED")
		m.addDeal(r, "L_", ph, stageOf(r.str("STATUS_SEMANTIC_ID")), closed)
	}
}

func (m *mapper) deal(r record) {
	ph, contact := m.phone(r)
	if ph == "" {
		m.log.Debug("bitrix24: deal without a usable phone skipped", "deal", r.str("ID"))
		return
	}
	m.client(r, ph, name(contact, nil))
	m.addDeal(r, "D_", ph, stageOf(r.str("STAGE_SEMANTIC_ID")), r.time("CLOSEDATE"))
}

// client adds or improves the client of phone: a known category, source
// or manager from a later record fills what earlier ones left unknown.
func (m *mapper) client(r record, phone, nm string) {
	if m.clients == nil {
		m.clients = map[string]client.Client{}
	}
	cat, need, budget, urgency := m.category(r)
	c, seen := m.clients[phone]
	if !seen {
		m.order = append(m.order, phone)
		c = client.Client{Phone: phone, Category: client.CategoryUnknown,
			Need: client.FlagUnknown, Budget: client.FlagUnknown, Urgency: client.FlagUnknown}
	}
	if cat.Known() || !seen {
		c.Category, c.Need, c.Budget, c.Urgency = cat, need, budget, urgency
	}
	c.Name = firstNonEmpty(nm, c.Name)
	c.Source = firstNonEmpty(m.source(r), c.Source)
	c.Manager = firstNonEmpty(m.opts.Managers[r.str("ASSIGNED_BY_ID")], c.Manager)
	m.clients[phone] = c
}

func (m *mapper) addDeal(r record, prefix, phone string, stage deal.Stage, closed time.Time) {
	d := deal.Deal{
		ID:        prefix + r.str("ID"),
		Phone:     phone,
		Stage:     stage,
		Source:    m.source(r),
		Manager:   m.opts.Managers[r.str("ASSIGNED_BY_ID")],
		CreatedAt: r.time("DATE_CREATE"),
	}
	if a, err := deal.ParseAmount(r.str("OPPORTUNITY")); err == nil {
		d.Amount = a
	}
	if stage != deal.StageOpen {
		// The close date when Bitrix24 set a plausible one, else the last
		// modification (the stage change, unless edited since).
		d.ClosedAt = closed
		if d.ClosedAt.IsZero() || d.ClosedAt.Before(d.CreatedAt) {
			d.ClosedAt = r.time("DATE_MODIFY")
		}
	}
	if stage == deal.StageLost && m.opts.LossReasonField != "" {
		raw := r.str(m.opts.LossReasonField)
		d.LossReason = truncate(firstNonEmpty(m.opts.LossReasonValues[raw], raw), deal.MaxLossReasonLen)
	}
	if err := d.Validate(); err != nil {
		m.log.Warn("bitrix24: deal skipped", "deal", d.ID, "err", err)
		return
	}
	m.deals = append(m.deals, d)
}

// category reads CategoryField, then derives from the flag fields.
func (m *mapper) category(r record) (cat client.Category, need, budget, urgency client.Flag) {
	cat = client.CategoryUnknown
	if f := m.opts.CategoryField; f != "" {
		raw := r.str(f)
		if v, ok := m.opts.CategoryValues[raw]; ok {
			cat = v
		} else if v, err := client.ParseCategory(raw); err == nil {
			cat = v
		}
	}
	flag := func(field string) client.Flag {
		if field == "" {
			return client.FlagUnknown
		}
		raw := r.str(field)
		if v, ok := m.opts.FlagValues[raw]; ok {
			return v
		}
		v, _ := client.ParseFlag(raw) // unknown on error
		return v
	}
	need, budget, urgency = flag(m.opts.NeedField), flag(m.opts.BudgetField), flag(m.opts.UrgencyField)
	if !cat.Known() {
		cat = client.Derive(need, budget, urgency)
	}
	return cat, need, budget, urgency
}

// source maps SourceField through SourceValues, or slugs the raw value
// (deal.SourceSlug).
func (m *mapper) source(r record) string {
	raw := r.str(m.opts.SourceField)
	if raw == "" {
		return ""
	}
	if v, ok := m.opts.SourceValues[raw]; ok {
		return v
	}
	return deal.SourceSlug(raw)
}

func stageOf(semantic string) deal.Stage {
	switch strings.ToUpper(semantic) {
	case "S":
		return deal.StageWon
	case "F":
		return deal.StageLost
	}
	return deal.StageOpen
}

// name is "NAME LAST_NAME" of the first record that has one, else TITLE.
func name(rs ...record) string {
	for _, r := range rs {
		if n := strings.TrimSpace(r.str("NAME") + " " + r.str("LAST_NAME")); n != "" {
			return n
		}
	}
	if len(rs) > 0 {
		return rs[0].str("TITLE")
	}
	return ""
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "")
}
