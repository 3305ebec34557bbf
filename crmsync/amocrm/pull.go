package amocrm

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/callpulse/callpulse/crmsync"
)

// System statuses present in every pipeline (§7.4).
const (
	statusWon  = 142
	statusLost = 143
)

type customField struct {
	FieldID   int64  `json:"field_id"`
	FieldName string `json:"field_name"`
	FieldCode string `json:"field_code"`
	Values    []struct {
		Value  any   `json:"value"`
		EnumID int64 `json:"enum_id"`
	} `json:"values"`
}

type leadJSON struct {
	ID                int64         `json:"id"`
	Name              string        `json:"name"`
	Price             int64         `json:"price"`
	ResponsibleUserID int64         `json:"responsible_user_id"`
	StatusID          int64         `json:"status_id"`
	CreatedAt         int64         `json:"created_at"`
	UpdatedAt         int64         `json:"updated_at"`
	ClosedAt          int64         `json:"closed_at"`
	CustomFields      []customField `json:"custom_fields_values"`
	Embedded          struct {
		LossReason []struct {
			Name string `json:"name"`
		} `json:"loss_reason"`
		Contacts []struct {
			ID     int64 `json:"id"`
			IsMain bool  `json:"is_main"`
		} `json:"contacts"`
	} `json:"_embedded"`
}

type page[T any] struct {
	Links struct {
		Next *struct {
			Href string `json:"href"`
		} `json:"next"`
	} `json:"_links"`
	Embedded map[string][]T `json:"_embedded"`
}

type contactJSON struct {
	ID           int64         `json:"id"`
	Name         string        `json:"name"`
	CustomFields []customField `json:"custom_fields_values"`
}

// Pull reads the leads updated at or after since (filter[updated_at][from],
// ordered by updated_at, 250 a page, with=loss_reason,contacts), their main
// contacts' phones, and maps them to clients and deals (stage from the
// system statuses 142 won / 143 lost, amount = price, loss reason name,
// category and source from the configured fields). Leads without a usable
// phone, and deals that break deal.Validate, are skipped with a warning.
// Until is the latest updated_at seen (since if nothing changed): the
// boundary second is read again next time, which is harmless because
// upserts are idempotent, and nothing updated within it is lost.
func (c *Client) Pull(ctx context.Context, since time.Time) (crmsync.Changes, error) {
	if c.opts.Normalizer == nil {
		return crmsync.Changes{}, fmt.Errorf("amocrm pull: no phone normalizer configured")
	}
	leads, err := c.leads(ctx, since)
	if err != nil {
		return crmsync.Changes{}, err
	}
	ids := make([]int64, 0, len(leads))
	for _, l := range leads {
		if id := mainContact(l); id != 0 {
			ids = append(ids, id)
		}
	}
	phones, names, err := c.contactPhones(ctx, ids)
	if err != nil {
		return crmsync.Changes{}, err
	}
	ch := crmsync.Changes{Until: since}
	latest := map[string]int{} // phone → index in ch.Clients of its most recently updated lead
	for _, l := range leads {
		if u := time.Unix(l.UpdatedAt, 0).UTC(); u.After(ch.Until) {
			ch.Until = u
		}
		cid := mainContact(l)
		ph := phones[cid]
		if ph == "" {
			c.log.Warn("amocrm pull: lead skipped: main contact has no usable phone", "lead_id", l.ID)
			continue
		}
		cl, d := c.mapLead(l, ph, names[cid])
		if err := d.Validate(); err != nil {
			c.log.Warn("amocrm pull: lead skipped", "lead_id", l.ID, "err", err)
			continue
		}
		ch.Deals = append(ch.Deals, d)
		if i, ok := latest[ph]; ok {
			ch.Clients[i] = cl // leads come in updated_at order: the later one wins
		} else {
			latest[ph] = len(ch.Clients)
			ch.Clients = append(ch.Clients, cl)
		}
	}
	return ch, nil
}

func (c *Client) leads(ctx context.Context, since time.Time) ([]leadJSON, error) {
	q := map[string][]string{
		"filter[updated_at][from]": {strconv.FormatInt(max(since.Unix(), 0), 10)},
		"order[updated_at]":        {"asc"},
		"limit":                    {strconv.Itoa(PageLimit)},
		"with":                     {"loss_reason,contacts"},
	}
	for _, p := range c.opts.Pull.PipelineIDs {
		q["filter[pipeline_id][]"] = append(q["filter[pipeline_id][]"], strconv.Itoa(p))
	}
	return list[leadJSON](ctx, c, "/api/v4/leads", "leads", q)
}

// list reads every page of a list endpoint: page 1, 2, … until a 204 or a
// page without _links.next.
func list[T any](ctx context.Context, c *Client, path, key string, q map[string][]string) ([]T, error) {
	var all []T
	for n := 1; ; n++ {
		q["page"] = []string{strconv.Itoa(n)}
		var p page[T]
		status, err := c.do(ctx, http.MethodGet, path, nil, &p, q)
		if err != nil {
			return nil, fmt.Errorf("list %s page %d: %w", key, n, err)
		}
		if status == http.StatusNoContent {
			return all, nil
		}
		all = append(all, p.Embedded[key]...)
		if p.Links.Next == nil || len(p.Embedded[key]) == 0 {
			return all, nil
		}
	}
}

func mainContact(l leadJSON) int64 {
	for _, c := range l.Embedded.Contacts {
		if c.IsMain {
			return c.ID
		}
	}
	if len(l.Embedded.Contacts) > 0 {
		return l.Embedded.Contacts[0].ID
	}
	return 0
}

// contactPhones returns the first phone (E.164) and name of each contact.
func (c *Client) contactPhones(ctx context.Context, ids []int64) (map[int64]string, map[int64]string, error) {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	phones, names := map[int64]string{}, map[int64]string{}
	for chunk := range slices.Chunk(ids, PageLimit) {
		q := map[string][]string{"limit": {strconv.Itoa(PageLimit)}}
		for _, id := range chunk {
			q["filter[id][]"] = append(q["filter[id][]"], strconv.FormatInt(id, 10))
		}
		cs, err := list[contactJSON](ctx, c, "/api/v4/contacts", "contacts", q)
		if err != nil {
			return nil, nil, err
		}
		for _, ct := range cs {
			names[ct.ID] = ct.Name
			for _, f := range ct.CustomFields {
				if f.FieldCode != "PHONE" || phones[ct.ID] != "" {
					continue
				}
				for _, v := range f.Values {
					if p, err := c.opts.Normalizer.Normalize(valueString(v.Value)); err == nil && p != "" {
						phones[ct.ID] = p
						break
					}
				}
			}
		}
	}
	return phones, names, nil
}

func valueString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// field returns the first value of the custom field named by code, name or
// id, and its enum id ("" if none).
func field(cfs []customField, name string) (value, enum string) {
	if name == "" {
		return "", ""
	}
	for _, f := range cfs {
		if strings.EqualFold(f.FieldCode, name) || strings.EqualFold(f.FieldName, name) || strconv.FormatInt(f.FieldID, 10) == name {
			if len(f.Values) == 0 {
				return "", ""
			}
			v := f.Values[0]
			if v.EnumID != 0 {
				enum = strconv.FormatInt(v.EnumID, 10)
			}
			return strings.TrimSpace(valueString(v.Value)), enum
		}
	}
	return "", ""
}
