package bitrix24test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// result is a successful answer; total and next are set by list methods.
type result struct {
	value       any
	total, next *int
}

type handler func(s *Server, p map[string]any, now time.Time) (result, *rpcError)

// methods are the emulated REST methods, by lower-case name.
var methods = map[string]handler{
	"telephony.externalcall.register":          (*Server).register,
	"telephony.externalcall.finish":            (*Server).finish,
	"telephony.externalcall.attachrecord":      (*Server).attachRecord,
	"telephony.externalcall.searchcrmentities": (*Server).searchCrmEntities,
	"crm.lead.list":                            listOf("LEAD"),
	"crm.deal.list":                            listOf("DEAL"),
	"crm.contact.list":                         listOf("CONTACT"),
	"crm.contact.get":                          getOf("CONTACT"),
	"crm.lead.get":                             getOf("LEAD"),
	"crm.deal.get":                             getOf("DEAL"),
	"crm.lead.update":                          updateOf("LEAD"),
	"crm.activity.todo.add":                    (*Server).todoAdd,
	"tasks.task.add":                           (*Server).taskAdd,
}

// invoke authorises and runs one call and records it; s.mu is held.
func (s *Server) invoke(method string, p map[string]any, webhook, inBatch bool, now time.Time) (result, *rpcError) {
	res, e := s.run(method, p, webhook, inBatch, now)
	req := Request{Method: method, Params: p, Webhook: webhook, InBatch: inBatch, At: now}
	if e != nil {
		req.Error = e.code
	}
	s.record(req)
	return res, e
}

func (s *Server) run(method string, p map[string]any, webhook, inBatch bool, now time.Time) (result, *rpcError) {
	if !inBatch {
		if e := s.authorize(method, p, webhook, now); e != nil {
			return result{}, e
		}
	}
	if webhook && strings.HasPrefix(method, "telephony.") {
		return result{}, errorf(http.StatusForbidden, "WRONG_AUTH_TYPE", "Current authorization type is denied for this method")
	}
	if method == "batch" {
		if inBatch {
			return result{}, errorf(http.StatusMethodNotAllowed, "ERROR_BATCH_METHOD_NOT_ALLOWED", "Method is not allowed for batch usage")
		}
		return s.batch(p, webhook, now)
	}
	h, ok := methods[method]
	if !ok {
		return result{}, errorf(http.StatusNotFound, "ERROR_METHOD_NOT_FOUND", "Method not found!")
	}
	return h(s, p, now)
}

// batch runs up to 50 "method?query" commands (§6.7). Empty parts of the
// answer are PHP empty arrays ([]), as Bitrix24 sends them.
func (s *Server) batch(p map[string]any, webhook bool, now time.Time) (result, *rpcError) {
	cmds, _ := p["cmd"].(map[string]any)
	if len(cmds) > 50 {
		return result{}, errorf(http.StatusBadRequest, "ERROR_BATCH_LENGTH_EXCEEDED", "Max batch length exceeded")
	}
	halt := str(p["halt"]) == "1" || str(p["halt"]) == "true"
	res, errs := map[string]any{}, map[string]any{}
	totals, nexts := map[string]any{}, map[string]any{}
	for _, k := range slices.Sorted(func(yield func(string) bool) {
		for k := range cmds {
			if !yield(k) {
				return
			}
		}
	}) {
		method, query, _ := strings.Cut(str(cmds[k]), "?")
		vals, err := url.ParseQuery(query)
		if err != nil {
			errs[k] = map[string]string{"error": "INVALID_REQUEST", "error_description": err.Error()}
			continue
		}
		r, e := s.invoke(strings.ToLower(method), decodeQuery(vals), webhook, true, now)
		if e != nil {
			errs[k] = map[string]string{"error": e.code, "error_description": e.desc}
			if halt {
				break
			}
			continue
		}
		res[k] = r.value
		if r.total != nil {
			totals[k] = *r.total
		}
		if r.next != nil {
			nexts[k] = *r.next
		}
	}
	return result{value: map[string]any{
		"result": phpArray(res), "result_error": phpArray(errs), "result_total": phpArray(totals),
		"result_next": phpArray(nexts), "result_time": []any{},
	}}, nil
}

func phpArray(m map[string]any) any {
	if len(m) == 0 {
		return []any{}
	}
	return m
}

// decodeQuery turns PHP-style keys ("filter[>ID]=5", "select[]=ID",
// "select[0]=ID") into nested maps; list elements become maps keyed
// "0", "1", … (read them with list).
func decodeQuery(v url.Values) map[string]any {
	out := map[string]any{}
	for _, key := range slices.Sorted(func(yield func(string) bool) {
		for k := range v {
			if !yield(k) {
				return
			}
		}
	}) {
		for _, val := range v[key] {
			path := splitKey(key)
			m := out
			for i, part := range path {
				if part == "" {
					part = strconv.Itoa(len(m))
				}
				if i == len(path)-1 {
					m[part] = val
					break
				}
				next, ok := m[part].(map[string]any)
				if !ok {
					next = map[string]any{}
					m[part] = next
				}
				m = next
			}
		}
	}
	return out
}

func splitKey(k string) []string {
	i := strings.IndexByte(k, '[')
	if i < 0 || !strings.HasSuffix(k, "]") {
		return []string{k}
	}
	return append([]string{k[:i]}, strings.Split(k[i+1:len(k)-1], "][")...)
}

// str reads a scalar param as a string.
func str(v any) string {
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case bool:
		if v {
			return "1"
		}
		return "0"
	}
	return fmt.Sprint(v)
}

// list reads a list param: a JSON array or a map keyed "0", "1", ….
func list(v any) []any {
	switch v := v.(type) {
	case []any:
		return v
	case map[string]any:
		keys := make([]int, 0, len(v))
		for k := range v {
			if i, err := strconv.Atoi(k); err == nil {
				keys = append(keys, i)
			}
		}
		slices.Sort(keys)
		out := make([]any, len(keys))
		for i, k := range keys {
			out[i] = v[strconv.Itoa(k)]
		}
		return out
	}
	return nil
}

func atoi(v any) (int, bool) {
	n, err := strconv.Atoi(strings.TrimSpace(str(v)))
	return n, err == nil
}
