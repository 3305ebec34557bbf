// Package amocrmtest is an in-process emulator of the amoCRM API v4 parts
// callpulse uses (spec §7): bearer-token auth with problem+json errors,
// POST /api/v4/calls (attach by phone, uniq dedup), /api/v4/leads/complex,
// PATCH notes, /api/v4/tasks, GET /api/v4/leads (filter[updated_at], paging,
// 204 past the end, with=loss_reason,contacts) and GET /api/v4/contacts,
// a per-account token bucket answering 429, and scripted faults (error
// statuses, slow answers, hung requests, connection resets).
package amocrmtest

import (
	"cmp"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/crmsync/crmtest"
)

// Options configure a Server.
type Options struct {
	Token string // required bearer token
	// Rate and Burst are the account's limit (default 7/s, burst 7); over
	// it requests get 429 with Retry-After: 1.
	Rate  rate.Limit
	Burst int
	// Now is the clock of the limiter (nil: time.Now); tests share a
	// virtual clock with the client.
	Now func() time.Time
}

// Server is the emulator. Its methods are safe for concurrent use.
type Server struct {
	*httptest.Server
	opts    Options
	limiter *rate.Limiter

	mu        sync.Mutex
	revoked   bool
	fail      []failure
	hang      int
	nextID    int64
	contacts  map[int64]*Contact
	leads     map[int64]*Lead
	calls     []*storedCall
	tasks     []crmtest.Task
	requests  int
	throttled int
	reqLog    []Request
}

// failure is one scripted fault, applied to one request in queue order:
// an error status, a delay before serving, or a connection reset (after
// serving the request when served is set).
type failure struct {
	status     int
	retryAfter time.Duration
	delay      time.Duration
	reset      bool
	served     bool
}

// Request is one request the emulator received.
type Request struct {
	Method, Path string
	Query        string
	At           time.Time // on the emulator clock
	Status       int       // as served; -1 if it hung, 0 if reset unserved
	Reset        bool      // the connection was reset: the client saw no answer
}

// Contact is a contact card.
type Contact struct {
	ID     int64
	Name   string
	Phones []string
}

// Lead is a lead card; tests add and change them with PutLead.
type Lead struct {
	ID                int64
	Name              string
	Price             int64
	ResponsibleUserID int64
	StatusID          int64
	PipelineID        int64
	LossReason        string // name; "" for none
	CreatedAt         int64
	UpdatedAt         int64
	ClosedAt          int64
	ContactIDs        []int64
	// Fields are custom field values by field_name (field_code = upper-case
	// name, field_id = a stable hash).
	Fields map[string]string
}

type storedCall struct {
	id         int64
	entityType string
	entityID   int64
	c          crmtest.Call
}

// New starts an emulator; close it with Close.
func New(opts Options) *Server {
	if opts.Rate == 0 {
		opts.Rate = 7
	}
	if opts.Burst == 0 {
		opts.Burst = int(opts.Rate)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	s := &Server{
		opts: opts, limiter: rate.NewLimiter(opts.Rate, opts.Burst), nextID: 1000,
		contacts: map[int64]*Contact{}, leads: map[int64]*Lead{},
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

func (s *Server) id() int64 { s.nextID++; return s.nextID }

// KnowPhone adds a contact with the phone.
func (s *Server) KnowPhone(phone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.contactByPhone(phone) == nil {
		c := &Contact{ID: s.id(), Name: phone, Phones: []string{phone}}
		s.contacts[c.ID] = c
	}
}

// AddContact adds a contact and returns its id.
func (s *Server) AddContact(name string, phones ...string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := &Contact{ID: s.id(), Name: name, Phones: phones}
	s.contacts[c.ID] = c
	return c.ID
}

// PutLead adds or replaces a lead (by ID; 0 assigns one) and returns its id.
func (s *Server) PutLead(l Lead) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l.ID == 0 {
		l.ID = s.id()
	}
	s.leads[l.ID] = &l
	return l.ID
}

// FailNext makes the next n requests fail with status.
func (s *Server) FailNext(n, status int, retryAfter time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, failure{status: status, retryAfter: retryAfter})
	}
}

// SlowNext makes the next n requests wait d (or until the client gives
// up) before they are served as usual.
func (s *Server) SlowNext(n int, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, failure{delay: d})
	}
}

// ResetNext makes the next n requests end in a TCP reset instead of an
// answer. With served set each request is served first, so the CRM applies
// it and only the answer is lost; otherwise nothing is applied.
func (s *Server) ResetNext(n int, served bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.fail = append(s.fail, failure{reset: true, served: served})
	}
}

// HangNext makes the next n requests hang until the client goes away.
func (s *Server) HangNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.hang += n
}

// RevokeAuth makes every later request fail with 401.
func (s *Server) RevokeAuth() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = true
}

// Calls returns the calls on cards, in creation order.
func (s *Server) Calls() []crmtest.Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]crmtest.Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = c.c
	}
	return out
}

// Leads returns the leads, by id.
func (s *Server) Leads() []Lead {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Lead, 0, len(s.leads))
	for _, l := range s.leads {
		c := *l
		c.ContactIDs = append([]int64(nil), l.ContactIDs...)
		c.Fields = maps.Clone(l.Fields)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Lead) int { return cmp.Compare(a.ID, b.ID) })
	return out
}

// Contact returns the contact with the id.
func (s *Server) Contact(id int64) (Contact, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.contacts[id]
	if c == nil {
		return Contact{}, false
	}
	out := *c
	out.Phones = append([]string(nil), c.Phones...)
	return out, true
}

// Scripted is the number of scripted faults (FailNext, SlowNext,
// ResetNext) not applied yet.
func (s *Server) Scripted() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.fail)
}

// Tasks returns the tasks, in creation order.
func (s *Server) Tasks() []crmtest.Task {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]crmtest.Task(nil), s.tasks...)
}

// Log returns every request received, in order.
func (s *Server) Log() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqLog...)
}

// Throttled is the number of requests answered 429 by the rate limit.
func (s *Server) Throttled() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.throttled
}

func (s *Server) contactByPhone(phone string) *Contact {
	var best *Contact
	for _, c := range s.contacts {
		for _, p := range c.Phones {
			if p == phone && (best == nil || c.ID < best.ID) {
				best = c
			}
		}
	}
	return best
}

func problem(w http.ResponseWriter, status int, title string) {
	w.Header().Set("Content-Type", "application/problem+json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"title": title, "type": "https://httpstatus.es/" + strconv.Itoa(status), "status": status, "detail": title})
}

func hal(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/hal+json")
	json.NewEncoder(w).Encode(v)
}

var _ crmtest.Backend = (*Server)(nil)

func directionOf(s string) call.Direction {
	if s == "outbound" {
		return call.DirectionOutbound
	}
	return call.DirectionInbound
}

func fieldID(name string) int64 {
	var h int64 = 500000
	for _, r := range name {
		h = h*31 + int64(r)
	}
	if h < 0 {
		h = -h
	}
	return h%900000 + 100000
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func (s *Server) url(path string) string { return fmt.Sprintf("%s%s", s.URL, path) }

// ContactIDs returns the contacts of a lead.
func (s *Server) ContactIDs(leadID int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if l := s.leads[leadID]; l != nil {
		return append([]int64(nil), l.ContactIDs...)
	}
	return nil
}

// RestoreAuth undoes RevokeAuth.
func (s *Server) RestoreAuth() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.revoked = false
}
