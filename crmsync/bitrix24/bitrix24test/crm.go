package bitrix24test

import (
	"cmp"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Fields are the fields of a CRM item, as Bitrix24 names them. PHONE is a
// multifield: []map[string]any{{"VALUE": "+7…", "VALUE_TYPE": "WORK"}}.
type Fields map[string]any

type entity struct {
	id     int
	fields Fields
}

// PageSize is the page size of list methods (§6.8).
const PageSize = 50

// Add stores a CRM item ("CONTACT", "LEAD" or "DEAL") and returns its ID.
// DATE_CREATE and DATE_MODIFY default to the server's clock.
func (s *Server) Add(kind string, f Fields) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addLocked(kind, f)
}

func (s *Server) addLocked(kind string, f Fields) int {
	s.seq++
	now := s.opts.Now().Format(isoLayout)
	c := Fields{"DATE_CREATE": now, "DATE_MODIFY": now}
	maps.Copy(c, f)
	c["ID"] = strconv.Itoa(s.seq)
	s.entities[kind] = append(s.entities[kind], entity{id: s.seq, fields: c})
	return s.seq
}

// Update changes fields of a CRM item and sets DATE_MODIFY to the clock.
func (s *Server) Update(kind string, id int, f Fields) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.entities[kind] {
		if e.id == id {
			maps.Copy(e.fields, f)
			e.fields["DATE_MODIFY"] = s.opts.Now().Format(isoLayout)
		}
	}
}

// Entities returns copies of the CRM items of a kind, by ID.
func (s *Server) Entities(kind string) []Fields {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Fields, len(s.entities[kind]))
	for i, e := range s.entities[kind] {
		out[i] = maps.Clone(e.fields)
	}
	return out
}

// listOf implements crm.*.list (§6.8): filter by ">FIELD", ">=FIELD",
// "<FIELD", "=FIELD" or "FIELD" (ID numerically, DATE_* as times, others as
// strings), order by ID ASC, select (ID always), and start: a multiple of
// 50 answers total and next (if more), -1 answers neither.
func listOf(kind string) handler {
	return func(s *Server, p map[string]any, _ time.Time) (result, *rpcError) {
		filter, _ := p["filter"].(map[string]any)
		var rows []Fields
		for _, e := range s.entities[kind] {
			if match(e.fields, filter) {
				rows = append(rows, e.fields)
			}
		}
		if order, _ := p["order"].(map[string]any); len(order) > 0 {
			if len(order) != 1 || !strings.EqualFold(str(order["ID"]), "ASC") {
				return result{}, errorf(http.StatusBadRequest, "INVALID_ARG_VALUE", "the emulator orders by ID ASC only")
			}
		}
		start, ok := atoi(p["start"])
		if !ok {
			start = 0
		}
		var res result
		if start >= 0 {
			total := len(rows)
			res.total = &total
			if start+PageSize < total {
				next := start + PageSize
				res.next = &next
			}
			rows = rows[min(start, len(rows)):]
		}
		rows = rows[:min(PageSize, len(rows))]
		sel := selected(p["select"])
		out := make([]Fields, len(rows))
		for i, r := range rows {
			out[i] = project(r, sel)
		}
		res.value = out
		return res, nil
	}
}

func getOf(kind string) handler {
	return func(s *Server, p map[string]any, _ time.Time) (result, *rpcError) {
		id, _ := atoi(p["id"])
		for _, e := range s.entities[kind] {
			if e.id == id {
				return result{value: maps.Clone(e.fields)}, nil
			}
		}
		return result{}, errorf(http.StatusBadRequest, "NOT_FOUND", "Not found")
	}
}

func selected(v any) []string {
	var out []string
	for _, f := range list(v) {
		out = append(out, str(f))
	}
	return out
}

// project keeps the selected fields; multifields (PHONE) only when named.
func project(f Fields, sel []string) Fields {
	all := len(sel) == 0 || slices.Contains(sel, "*")
	out := Fields{"ID": f["ID"]}
	for k, v := range f {
		if slices.Contains(sel, k) || all && k != "PHONE" {
			out[k] = v
		}
	}
	return out
}

func match(f Fields, filter map[string]any) bool {
	for key, want := range filter {
		op, field := splitOp(key)
		c := compare(field, f[field], want)
		ok := false
		switch op {
		case ">":
			ok = c > 0
		case ">=":
			ok = c >= 0
		case "<":
			ok = c < 0
		case "<=":
			ok = c <= 0
		case "=", "":
			ok = c == 0
		case "!", "!=":
			ok = c != 0
		}
		if !ok {
			return false
		}
	}
	return true
}

func splitOp(key string) (op, field string) {
	i := strings.IndexFunc(key, func(r rune) bool { return r == '_' || r >= 'A' && r <= 'Z' })
	if i < 0 {
		return "", key
	}
	return key[:i], key[i:]
}

// compare returns the sign of have − want.
func compare(field string, have, want any) int {
	switch {
	case field == "ID" || strings.HasSuffix(field, "_ID") && isInt(have):
		a, _ := atoi(have)
		b, _ := atoi(want)
		return cmp.Compare(a, b)
	case strings.HasPrefix(field, "DATE_"):
		a, err1 := time.Parse(time.RFC3339, str(have))
		b, err2 := time.Parse(time.RFC3339, str(want))
		if err1 != nil || err2 != nil {
			return strings.Compare(str(have), str(want))
		}
		return a.Truncate(time.Second).Compare(b.Truncate(time.Second))
	}
	return strings.Compare(str(have), str(want))
}

func isInt(v any) bool { _, ok := atoi(v); return ok }

// updateOf implements crm.*.update (apidocs.bitrix24.com crm-lead-update:
// id, fields; result true): the fields are set, DATE_MODIFY moves; an
// unknown id is 400 "Not found".
func updateOf(kind string) handler {
	return func(s *Server, p map[string]any, now time.Time) (result, *rpcError) {
		id, ok := atoi(p["id"])
		fields, _ := p["fields"].(map[string]any)
		if !ok || id <= 0 || len(fields) == 0 {
			return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "ID and fields are required")
		}
		for _, e := range s.entities[kind] {
			if e.id == id {
				maps.Copy(e.fields, fields)
				e.fields["DATE_MODIFY"] = now.Format(isoLayout)
				return result{value: true}, nil
			}
		}
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "Not found")
	}
}
