package amocrmtest

import (
	"crypto/subtle"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/callpulse/callpulse/crmsync/crmtest"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	status, f := s.admit(w, r)
	if status == 0 && (!f.reset || f.served) {
		var out http.ResponseWriter = w
		if f.reset {
			out = httptest.NewRecorder() // served, but the answer is lost
		}
		rec := &statusRecorder{ResponseWriter: out, status: http.StatusOK}
		s.route(rec, r)
		status = rec.status
	}
	s.mu.Lock()
	s.reqLog = append(s.reqLog, Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, At: s.opts.Now(), Status: status, Reset: f.reset})
	s.mu.Unlock()
	if f.reset { // after logging: the client may look at the log as soon as it sees the reset
		resetConn(w)
	}
}

// resetConn closes the request's connection with a TCP RST (SO_LINGER 0).
func resetConn(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// admit applies scripted faults, the rate limit and auth; it returns the
// status it answered with, or 0 to route the request, and the fault taken
// from the script: serve carries out a reset (routing first if served).
func (s *Server) admit(w http.ResponseWriter, r *http.Request) (int, failure) {
	s.mu.Lock()
	s.requests++
	if s.hang > 0 {
		s.hang--
		s.mu.Unlock()
		// The server notices a client that gave up only once the body is read.
		io.Copy(io.Discard, r.Body)
		<-r.Context().Done()
		return -1, failure{}
	}
	var f failure
	if len(s.fail) > 0 {
		f = s.fail[0]
		s.fail = s.fail[1:]
	}
	switch {
	case f.status != 0:
		s.mu.Unlock()
		if f.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(int(f.retryAfter/time.Second)))
		}
		problem(w, f.status, http.StatusText(f.status))
		return f.status, f
	case f.reset && !f.served:
		s.mu.Unlock()
		io.Copy(io.Discard, r.Body)
		return 0, f // serve resets the connection without routing
	case f.reset:
		w = httptest.NewRecorder() // served as usual, but the answer is lost
	case f.delay > 0:
		s.mu.Unlock()
		select {
		case <-time.After(f.delay):
		case <-r.Context().Done():
		}
		s.mu.Lock()
	}
	if !s.limiter.AllowN(s.opts.Now(), 1) {
		s.throttled++
		s.mu.Unlock()
		w.Header().Set("Retry-After", "1")
		problem(w, http.StatusTooManyRequests, "Too Many Requests")
		return http.StatusTooManyRequests, f
	}
	revoked := s.revoked
	s.mu.Unlock()
	auth := r.Header.Get("Authorization")
	want := "Bearer " + s.opts.Token
	if revoked || subtle.ConstantTimeCompare([]byte(auth), []byte(want)) != 1 {
		problem(w, http.StatusUnauthorized, "Unauthorized")
		return http.StatusUnauthorized, f
	}
	return 0, f
}

func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case r.Method == http.MethodPost && p == "/api/v4/calls":
		s.postCalls(w, r)
	case r.Method == http.MethodPost && p == "/api/v4/leads/complex":
		s.postComplex(w, r)
	case r.Method == http.MethodPatch && strings.HasPrefix(p, "/api/v4/") && strings.HasSuffix(p, "/notes"):
		s.patchNotes(w, r, strings.TrimSuffix(strings.TrimPrefix(p, "/api/v4/"), "/notes"))
	case r.Method == http.MethodPost && p == "/api/v4/tasks":
		s.postTasks(w, r)
	case r.Method == http.MethodGet && p == "/api/v4/leads":
		s.getLeads(w, r)
	case r.Method == http.MethodGet && p == "/api/v4/contacts":
		s.getContacts(w, r)
	case r.Method == http.MethodPatch && strings.HasPrefix(p, "/api/v4/leads/"):
		s.patchLead(w, r, strings.TrimPrefix(p, "/api/v4/leads/"))
	default:
		problem(w, http.StatusNotFound, "Not Found")
	}
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		problem(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
		return false
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		problem(w, http.StatusBadRequest, "Bad Request")
		return false
	}
	return true
}

type callIn struct {
	Direction       string `json:"direction"`
	Uniq            string `json:"uniq"`
	Duration        *int   `json:"duration"`
	Source          string `json:"source"`
	Link            string `json:"link"`
	Phone           string `json:"phone"`
	CallStatus      int    `json:"call_status"`
	CallResponsible int64  `json:"call_responsible"`
	RequestID       string `json:"request_id"`
}

func (s *Server) postCalls(w http.ResponseWriter, r *http.Request) {
	var in []callIn
	if !decode(w, r, &in) {
		return
	}
	for _, c := range in {
		if (c.Direction != "inbound" && c.Direction != "outbound") || c.Duration == nil || c.Source == "" || c.Phone == "" {
			problem(w, http.StatusBadRequest, "Bad Request: direction, duration, source and phone are required")
			return
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, c := range in {
		var sc *storedCall
		for _, old := range s.calls {
			if c.Uniq != "" && old.c.Key == c.Uniq {
				sc = old
			}
		}
		if sc == nil {
			ct := s.contactByPhone(c.Phone)
			if ct == nil {
				continue // amoCRM does not add calls it cannot attach (§7.3)
			}
			sc = &storedCall{id: s.id(), entityType: "contacts", entityID: ct.ID}
			if l := s.leadOf(ct.ID); l != nil {
				sc.entityType, sc.entityID = "leads", l.ID
			}
			resp := ""
			if c.CallResponsible != 0 {
				resp = itoa(c.CallResponsible)
			}
			sc.c = crmtest.Call{Key: c.Uniq, Phone: c.Phone, Direction: directionOf(c.Direction),
				Answered: c.CallStatus == 4, Duration: *c.Duration, UserID: resp, RecordingURL: c.Link}
			s.calls = append(s.calls, sc)
		}
		out = append(out, map[string]any{"id": sc.id, "entity_id": sc.entityID, "entity_type": sc.entityType,
			"account_id": 29112233, "request_id": c.RequestID,
			"_embedded": map[string]any{"entity": map[string]any{"id": sc.entityID}}})
	}
	hal(w, map[string]any{"_total_items": len(out), "_embedded": map[string]any{"calls": out}})
}

// leadOf returns the single open lead of a contact, if there is exactly one.
func (s *Server) leadOf(contactID int64) *Lead {
	var found *Lead
	n := 0
	for _, l := range s.leads {
		if l.StatusID == 142 || l.StatusID == 143 {
			continue
		}
		for _, id := range l.ContactIDs {
			if id == contactID {
				found = l
				n++
			}
		}
	}
	if n != 1 {
		return nil
	}
	return found
}

func (s *Server) postComplex(w http.ResponseWriter, r *http.Request) {
	var in []struct {
		Name              string `json:"name"`
		ResponsibleUserID int64  `json:"responsible_user_id"`
		Embedded          struct {
			Contacts []struct {
				FirstName    string `json:"first_name"`
				CustomFields []struct {
					FieldCode string `json:"field_code"`
					Values    []struct {
						Value string `json:"value"`
					} `json:"values"`
				} `json:"custom_fields_values"`
			} `json:"contacts"`
		} `json:"_embedded"`
		RequestID string `json:"request_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.opts.Now().Unix()
	var out []map[string]any
	for _, l := range in {
		lead := &Lead{ID: s.id(), Name: l.Name, ResponsibleUserID: l.ResponsibleUserID, StatusID: 1, PipelineID: 7001,
			CreatedAt: now, UpdatedAt: now}
		var contactID int64
		for _, c := range l.Embedded.Contacts {
			ct := &Contact{ID: s.id(), Name: c.FirstName}
			for _, f := range c.CustomFields {
				if f.FieldCode == "PHONE" {
					for _, v := range f.Values {
						ct.Phones = append(ct.Phones, v.Value)
					}
				}
			}
			s.contacts[ct.ID] = ct
			lead.ContactIDs = append(lead.ContactIDs, ct.ID)
			contactID = ct.ID
		}
		s.leads[lead.ID] = lead
		out = append(out, map[string]any{"id": lead.ID, "contact_id": contactID, "company_id": nil,
			"request_id": []string{l.RequestID}, "merged": false})
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(out)
}

func (s *Server) patchNotes(w http.ResponseWriter, r *http.Request, entityType string) {
	var in []struct {
		ID     int64 `json:"id"`
		Params struct {
			Link string `json:"link"`
		} `json:"params"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, n := range in {
		found := false
		for _, c := range s.calls {
			if c.id == n.ID && c.entityType == entityType {
				c.c.RecordingURL, found = n.Params.Link, true
				out = append(out, map[string]any{"id": c.id, "entity_id": c.entityID})
			}
		}
		if !found {
			problem(w, http.StatusBadRequest, "Bad Request: note not found")
			return
		}
	}
	hal(w, map[string]any{"_embedded": map[string]any{"notes": out}})
}

func (s *Server) postTasks(w http.ResponseWriter, r *http.Request) {
	var in []struct {
		Text              string `json:"text"`
		CompleteTill      *int64 `json:"complete_till"`
		EntityID          int64  `json:"entity_id"`
		EntityType        string `json:"entity_type"`
		TaskTypeID        int    `json:"task_type_id"`
		ResponsibleUserID int64  `json:"responsible_user_id"`
		RequestID         string `json:"request_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []map[string]any
	for _, t := range in {
		if t.CompleteTill == nil || t.Text == "" {
			problem(w, http.StatusBadRequest, "Bad Request: text and complete_till are required")
			return
		}
		task := crmtest.Task{Deadline: time.Unix(*t.CompleteTill, 0).UTC(), Text: t.Text}
		if t.ResponsibleUserID != 0 {
			task.UserID = itoa(t.ResponsibleUserID)
		}
		task.Phone = s.phoneOf(t.EntityType, t.EntityID)
		s.tasks = append(s.tasks, task)
		out = append(out, map[string]any{"id": s.id(), "request_id": t.RequestID})
	}
	hal(w, map[string]any{"_embedded": map[string]any{"tasks": out}})
}

func (s *Server) phoneOf(entityType string, id int64) string {
	switch entityType {
	case "contacts":
		if c := s.contacts[id]; c != nil && len(c.Phones) > 0 {
			return c.Phones[0]
		}
	case "leads":
		if l := s.leads[id]; l != nil {
			ids := append([]int64(nil), l.ContactIDs...)
			sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
			for _, cid := range ids {
				if p := s.phoneOf("contacts", cid); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

// patchLead implements PATCH /api/v4/leads/{id} (amoCRM API v4 leads docs:
// a body of the fields to change, here status_id and pipeline_id; the
// answer is the lead's id and updated_at): 404 for an unknown lead.
func (s *Server) patchLead(w http.ResponseWriter, r *http.Request, rawID string) {
	id, err := strconv.ParseInt(rawID, 10, 64)
	if err != nil {
		problem(w, http.StatusNotFound, "Not Found")
		return
	}
	var in struct {
		StatusID   *int64 `json:"status_id"`
		PipelineID *int64 `json:"pipeline_id"`
	}
	if !decode(w, r, &in) {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	l, ok := s.leads[id]
	if !ok {
		problem(w, http.StatusNotFound, "Not Found")
		return
	}
	if in.StatusID != nil {
		l.StatusID = *in.StatusID
	}
	if in.PipelineID != nil {
		l.PipelineID = *in.PipelineID
	}
	l.UpdatedAt = s.opts.Now().Unix()
	hal(w, map[string]any{"id": l.ID, "updated_at": l.UpdatedAt})
}
