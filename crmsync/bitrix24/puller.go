package bitrix24

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/callpulse/callpulse/crmsync"
)

// PageSize is the fixed page size of Bitrix24 list methods (§6.8).
const PageSize = 50

// record is one lead, deal or contact as Bitrix24 sends it.
type record map[string]json.RawMessage

// Pull returns the leads and deals modified after since (crm.lead.list and
// crm.deal.list with filter >DATE_MODIFY, order ID ASC), mapped per
// Options.Pull, with the phones of their contacts fetched in batches of
// crm.contact.get. Until is the largest DATE_MODIFY seen (since if nothing
// changed); pass it as since next time.
//
// Pages are read by key (filter >ID of the last row, start=-1), the
// variant §6.8 recommends for exports: offset paging (start=next) would
// skip a row whenever a row with a smaller ID starts matching the filter
// during the pull. Records that cannot be mapped (no phone, invalid deal)
// are skipped and logged without the phone; they still advance Until.
func (c *Client) Pull(ctx context.Context, since time.Time) (crmsync.Changes, error) {
	if c.opts.Normalizer == nil {
		return crmsync.Changes{}, &crmsync.Error{Reason: "invalid configuration", Err: errors.New("bitrix24 pull: no phone normalizer")}
	}
	leads, err := c.listChanged(ctx, "crm.lead.list", c.leadSelect(), since)
	if err != nil {
		return crmsync.Changes{}, fmt.Errorf("pull leads: %w", err)
	}
	deals, err := c.listChanged(ctx, "crm.deal.list", c.dealSelect(), since)
	if err != nil {
		return crmsync.Changes{}, fmt.Errorf("pull deals: %w", err)
	}
	var contactIDs []string
	for _, r := range slices.Concat(leads, deals) {
		if id := r.str("CONTACT_ID"); id != "" && id != "0" && len(r.phones("PHONE")) == 0 {
			contactIDs = append(contactIDs, id)
		}
	}
	contacts, err := c.contacts(ctx, contactIDs)
	if err != nil {
		return crmsync.Changes{}, fmt.Errorf("pull contacts: %w", err)
	}
	m := mapper{opts: c.opts.Pull, norm: c.opts.Normalizer, log: c.log, contacts: contacts}
	ch := crmsync.Changes{Until: since}
	for _, r := range leads {
		m.lead(r)
		ch.Until = laterOf(ch.Until, r.time("DATE_MODIFY"))
	}
	for _, r := range deals {
		m.deal(r)
		ch.Until = laterOf(ch.Until, r.time("DATE_MODIFY"))
	}
	ch.Clients, ch.Deals = m.result()
	return ch, nil
}

// listChanged reads every page of a list method for rows modified after
// since.
func (c *Client) listChanged(ctx context.Context, method string, sel []string, since time.Time) ([]record, error) {
	var out []record
	var lastID int64
	for {
		filter := map[string]any{}
		if !since.IsZero() {
			filter[">DATE_MODIFY"] = since.In(c.opts.Location).Format(isoLayout)
		}
		if lastID > 0 {
			filter[">ID"] = lastID
		}
		r, err := c.call(ctx, method, map[string]any{
			"select": sel,
			"filter": filter,
			"order":  map[string]any{"ID": "ASC"},
			"start":  -1,
		})
		if err != nil {
			return nil, err
		}
		var page []record
		if err := json.Unmarshal(r.Result, &page); err != nil {
			return nil, malformed(method, err)
		}
		prev := lastID
		for _, rec := range page {
			id, err := strconv.ParseInt(rec.str("ID"), 10, 64)
			if err != nil {
				return nil, malformed(method, fmt.Errorf("row without a numeric ID"))
			}
			lastID = max(lastID, id)
			out = append(out, rec)
		}
		if len(page) < PageSize {
			return out, nil
		}
		if lastID == prev {
			return nil, malformed(method, fmt.Errorf("a full page did not advance the ID"))
		}
	}
}

// contacts fetches contacts by id with crm.contact.get, MaxBatch per
// request. Contacts that fail (deleted, no access) are left out.
func (c *Client) contacts(ctx context.Context, ids []string) (map[string]record, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	out := make(map[string]record, len(ids))
	for chunk := range slices.Chunk(ids, MaxBatch) {
		cmds := make([]Command, len(chunk))
		for i, id := range chunk {
			cmds[i] = Command{Key: "c" + id, Method: "crm.contact.get", Params: map[string]any{"id": id}}
		}
		res, err := c.Batch(ctx, cmds, false)
		if err != nil {
			return nil, err
		}
		for _, id := range chunk {
			var rec record
			if raw, ok := res.Results["c"+id]; ok && json.Unmarshal(raw, &rec) == nil {
				out[id] = rec
			} else if e := res.Errors["c"+id]; e != nil {
				c.log.Debug("bitrix24: contact not read", "crm", c.opts.Name, "contact", id, "err", e)
			}
		}
	}
	return out, nil
}

func (c *Client) leadSelect() []string {
	return c.withPullFields("ID", "TITLE", "NAME", "LAST_NAME", "STATUS_ID", "STATUS_SEMANTIC_ID",
		"OPPORTUNITY", "CURRENCY_ID", "SOURCE_ID", "UTM_SOURCE", "ASSIGNED_BY_ID", "CONTACT_ID",
		"DATE_CREATE", "DATE_MODIFY", "DATE_CLOSED", "PHONE")
}

func (c *Client) dealSelect() []string {
	return c.withPullFields("ID", "TITLE", "STAGE_ID", "STAGE_SEMANTIC_ID", "CATEGORY_ID",
		"OPPORTUNITY", "CURRENCY_ID", "SOURCE_ID", "UTM_SOURCE", "ASSIGNED_BY_ID", "CONTACT_ID",
		"DATE_CREATE", "DATE_MODIFY", "CLOSEDATE", "CLOSED")
}

func (c *Client) withPullFields(base ...string) []string {
	p := c.opts.Pull
	for _, f := range []string{p.CategoryField, p.NeedField, p.BudgetField, p.UrgencyField, p.SourceField, p.LossReasonField} {
		if f != "" && !slices.Contains(base, f) {
			base = append(base, f)
		}
	}
	return base
}

func laterOf(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
