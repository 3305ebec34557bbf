package amocrmtest

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// getLeads serves GET /api/v4/leads: filter[updated_at][from|to],
// order[updated_at]=asc (default id asc), page/limit (max 250), 204 for an
// empty page, _links.next while there are more, with=loss_reason,contacts.
func (s *Server) getLeads(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, page, ok := paging(q)
	if !ok {
		problem(w, http.StatusBadRequest, "Bad Request: page/limit")
		return
	}
	from, _ := strconv.ParseInt(q.Get("filter[updated_at][from]"), 10, 64)
	to, hasTo := int64(0), q.Has("filter[updated_at][to]")
	if hasTo {
		to, _ = strconv.ParseInt(q.Get("filter[updated_at][to]"), 10, 64)
	}
	with := strings.Split(q.Get("with"), ",")
	s.mu.Lock()
	defer s.mu.Unlock()
	var all []*Lead
	for _, l := range s.leads {
		if l.UpdatedAt >= from && (!hasTo || l.UpdatedAt <= to) {
			all = append(all, l)
		}
	}
	byUpdated := q.Get("order[updated_at]") == "asc"
	slices.SortFunc(all, func(a, b *Lead) int {
		if byUpdated && a.UpdatedAt != b.UpdatedAt {
			return int(a.UpdatedAt - b.UpdatedAt)
		}
		return int(a.ID - b.ID)
	})
	lo := (page - 1) * limit
	if lo >= len(all) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	hi := min(lo+limit, len(all))
	out := make([]map[string]any, 0, hi-lo)
	for _, l := range all[lo:hi] {
		out = append(out, s.leadJSON(l, slices.Contains(with, "loss_reason"), slices.Contains(with, "contacts")))
	}
	links := map[string]any{"self": map[string]string{"href": s.pageURL(r, page)}}
	if hi < len(all) {
		links["next"] = map[string]string{"href": s.pageURL(r, page+1)}
	}
	hal(w, map[string]any{"_page": page, "_links": links, "_embedded": map[string]any{"leads": out}})
}

func paging(q url.Values) (limit, page int, ok bool) {
	limit, page = 50, 1
	var err error
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 250 {
			return 0, 0, false
		}
	}
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return 0, 0, false
		}
	}
	return limit, page, true
}

func (s *Server) pageURL(r *http.Request, page int) string {
	q := r.URL.Query()
	q.Set("page", strconv.Itoa(page))
	return s.url(r.URL.Path + "?" + q.Encode())
}

func (s *Server) leadJSON(l *Lead, withLoss, withContacts bool) map[string]any {
	var cfs []map[string]any
	names := make([]string, 0, len(l.Fields))
	for n := range l.Fields {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		cfs = append(cfs, map[string]any{"field_id": fieldID(n), "field_name": n, "field_code": strings.ToUpper(n),
			"field_type": "text", "values": []map[string]any{{"value": l.Fields[n]}}})
	}
	emb := map[string]any{"tags": []any{}}
	if withLoss && l.LossReason != "" {
		emb["loss_reason"] = []map[string]any{{"id": fieldID(l.LossReason), "name": l.LossReason}}
	}
	if withContacts {
		var cs []map[string]any
		for i, id := range l.ContactIDs {
			cs = append(cs, map[string]any{"id": id, "is_main": i == 0})
		}
		emb["contacts"] = cs
	}
	var closed any
	if l.ClosedAt != 0 {
		closed = l.ClosedAt
	}
	var loss any
	if l.LossReason != "" {
		loss = fieldID(l.LossReason)
	}
	return map[string]any{
		"id": l.ID, "name": l.Name, "price": l.Price, "responsible_user_id": l.ResponsibleUserID, "group_id": 0,
		"status_id": l.StatusID, "pipeline_id": l.PipelineID, "loss_reason_id": loss, "created_by": 0, "updated_by": 0,
		"created_at": l.CreatedAt, "updated_at": l.UpdatedAt, "closed_at": closed, "closest_task_at": nil,
		"is_deleted": false, "custom_fields_values": cfs, "score": nil, "account_id": 29112233, "_embedded": emb,
	}
}

// getContacts serves GET /api/v4/contacts?filter[id][]=…, paged like leads.
func (s *Server) getContacts(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, page, ok := paging(q)
	if !ok {
		problem(w, http.StatusBadRequest, "Bad Request: page/limit")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for _, v := range q["filter[id][]"] {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			problem(w, http.StatusBadRequest, "Bad Request: filter[id]")
			return
		}
		if s.contacts[id] != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	ids = slices.Compact(ids)
	lo := (page - 1) * limit
	if lo >= len(ids) {
		w.WriteHeader(http.StatusNoContent)
		return
	}
	hi := min(lo+limit, len(ids))
	var out []map[string]any
	for _, id := range ids[lo:hi] {
		c := s.contacts[id]
		var vals []map[string]any
		for _, p := range c.Phones {
			vals = append(vals, map[string]any{"value": p, "enum_code": "WORK"})
		}
		out = append(out, map[string]any{"id": c.ID, "name": c.Name, "custom_fields_values": []map[string]any{
			{"field_id": 100, "field_name": "Телефон", "field_code": "PHONE", "field_type": "multitext", "values": vals}}})
	}
	links := map[string]any{"self": map[string]string{"href": s.pageURL(r, page)}}
	if hi < len(ids) {
		links["next"] = map[string]string{"href": s.pageURL(r, page+1)}
	}
	hal(w, map[string]any{"_page": page, "_links": links, "_embedded": map[string]any{"contacts": out}})
}
