// Package bitrix24test is an in-memory Bitrix24 REST portal for tests,
// following §6 of the protocol reference: OAuth application and
// incoming-webhook auth (telephony refuses webhooks with WRONG_AUTH_TYPE),
// token refresh, the leaky bucket (503 QUERY_LIMIT_EXCEEDED) on an
// injectable clock, batch, list paging by 50, and scripted faults. It
// records every method call it receives, including batch sub-calls.
package bitrix24test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Options configure a Server. Zero fields take the defaults named.
type Options struct {
	// Now is the clock of tokens, the bucket and DATE_MODIFY (time.Now).
	Now func() time.Time
	// ClientID and ClientSecret of the application ("app.test", "secret").
	ClientID, ClientSecret string
	// WebhookUser and WebhookCode form the webhook path /rest/<user>/<code>/
	// ("1", "webhookcode").
	WebhookUser, WebhookCode string
	// Burst and Drain are the leaky bucket: X = 50 requests, Y = 2 per
	// second (§6.6). A negative Burst disables the bucket.
	Burst int
	Drain float64
	// Users are the active Bitrix24 user ids (1 and 17).
	Users []int
	// InnerPhones are the users' internal numbers (USER_PHONE_INNER → id).
	InnerPhones map[string]int
}

// Server is a running emulator. Its methods are safe for concurrent use.
type Server struct {
	srv  *httptest.Server
	opts Options

	mu       sync.Mutex
	level    float64 // leaky bucket
	drained  time.Time
	access   map[string]time.Time // access token → expiry
	refresh  string
	code     string // pending authorization code
	seq      int
	calls    map[string]*Call // registered, not finished
	finished map[string]*Call
	entities map[string][]entity // "CONTACT", "LEAD", "DEAL"
	requests []Request
	todos    []Todo
	faults   map[string][]Fault
	release  chan struct{}
}

// Request is one method call the server received.
type Request struct {
	// Method is the method name in lower case.
	Method string
	Params map[string]any
	// Webhook is true for a call through the webhook URL.
	Webhook bool
	// InBatch is true for a sub-call of a batch.
	InBatch bool
	// Error is the Bitrix24 error code answered, "" on success.
	Error string
	At    time.Time
}

// Fault is a scripted failure of the next call of a method.
type Fault struct {
	// Status and Code are the HTTP status and Bitrix24 error code answered
	// (e.g. 500 and INTERNAL_SERVER_ERROR); Description is optional.
	Status      int
	Code        string
	Description string
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// Hang holds the request until the client gives up or Release is
	// called (a slow server), then answers with Status/Code if set.
	Hang bool
	// After lets the method run first and fails only its answer (the
	// request took effect, the client does not know).
	After bool
}

// fails reports whether the fault answers with an error (a Hang alone
// only delays).
func (f Fault) fails() bool { return f.Status != 0 || f.Code != "" }

// New starts a Server; Close it when done.
func New(opts Options) *Server {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	def := func(p *string, v string) {
		if *p == "" {
			*p = v
		}
	}
	def(&opts.ClientID, "app.test")
	def(&opts.ClientSecret, "secret")
	def(&opts.WebhookUser, "1")
	def(&opts.WebhookCode, "webhookcode")
	if opts.Burst == 0 {
		opts.Burst = 50
	}
	if opts.Drain == 0 {
		opts.Drain = 2
	}
	if opts.Users == nil {
		opts.Users = []int{1, 17}
	}
	s := &Server{
		opts:     opts,
		access:   map[string]time.Time{},
		calls:    map[string]*Call{},
		finished: map[string]*Call{},
		entities: map[string][]entity{},
		faults:   map[string][]Fault{},
		release:  make(chan struct{}),
		drained:  opts.Now(),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/oauth/token/", s.serveToken)
	mux.HandleFunc("/rest/", s.serveREST)
	s.srv = httptest.NewServer(mux)
	return s
}

// Close stops the server, releasing hung requests first.
func (s *Server) Close() {
	s.Release()
	s.srv.Close()
}

// Release lets every request held by a Hang fault go on.
func (s *Server) Release() {
	s.mu.Lock()
	defer s.mu.Unlock()
	select {
	case <-s.release:
	default:
		close(s.release)
	}
}

// Endpoint is the REST endpoint of the OAuth application ("…/rest/").
func (s *Server) Endpoint() string { return s.srv.URL + "/rest/" }

// WebhookURL is the incoming-webhook base URL ("…/rest/<user>/<code>/").
func (s *Server) WebhookURL() string {
	return s.srv.URL + "/rest/" + s.opts.WebhookUser + "/" + s.opts.WebhookCode + "/"
}

// OAuthURL is the token endpoint ("…/oauth/token/").
func (s *Server) OAuthURL() string { return s.srv.URL + "/oauth/token/" }

// Fail queues f for the next call of method (case-insensitive; "" for
// any method).
func (s *Server) Fail(method string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := strings.ToLower(method)
	s.faults[m] = append(s.faults[m], f)
}

// Requests returns the calls received so far, in order, optionally only
// those of one method (case-insensitive).
func (s *Server) Requests(method string) []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Request
	for _, r := range s.requests {
		if method == "" || r.Method == strings.ToLower(method) {
			out = append(out, r)
		}
	}
	return out
}

func (s *Server) serveREST(w http.ResponseWriter, r *http.Request) {
	method, webhook, ok := s.route(r.URL.Path)
	if !ok {
		writeError(w, http.StatusNotFound, "ERROR_METHOD_NOT_FOUND", "Method not found!")
		return
	}
	params, err := readParams(r)
	if err != nil {
		writeError(w, http.StatusBadRequest, "INVALID_REQUEST", err.Error())
		return
	}
	s.mu.Lock()
	fault, faulted := s.nextFault(method)
	s.mu.Unlock()
	if faulted && fault.Hang {
		select {
		case <-r.Context().Done():
			return
		case <-s.release:
		}
	}
	s.mu.Lock()
	now := s.opts.Now()
	if e := s.take(now); e != nil {
		s.record(Request{Method: method, Params: params, Webhook: webhook, Error: e.code, At: now})
		s.mu.Unlock()
		writeError(w, e.status, e.code, e.desc)
		return
	}
	if faulted && !fault.After && fault.fails() {
		s.record(Request{Method: method, Params: params, Webhook: webhook, Error: fault.Code, At: now})
		s.mu.Unlock()
		writeFault(w, fault)
		return
	}
	res, e := s.invoke(method, params, webhook, false, now)
	s.mu.Unlock()
	switch {
	case faulted && fault.fails():
		writeFault(w, fault)
	case e != nil:
		writeError(w, e.status, e.code, e.desc)
	default:
		writeResult(w, res, now)
	}
}

// route splits "/rest/<method>" (OAuth) and "/rest/<user>/<code>/<method>"
// (webhook). A wrong webhook code routes to a method that fails auth.
func (s *Server) route(path string) (method string, webhook, ok bool) {
	parts := strings.Split(strings.TrimPrefix(path, "/rest/"), "/")
	switch len(parts) {
	case 1:
		method = parts[0]
	case 3:
		if parts[0] != s.opts.WebhookUser || parts[1] != s.opts.WebhookCode {
			return "!badwebhook", true, true
		}
		method, webhook = parts[2], true
	default:
		return "", false, false
	}
	method = strings.ToLower(strings.TrimSuffix(method, ".json"))
	return method, webhook, method != ""
}

// readParams reads a JSON body, or form values plus the query, into
// nested params.
func readParams(r *http.Request) (map[string]any, error) {
	p := map[string]any{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		d := json.NewDecoder(io.LimitReader(r.Body, 1<<20))
		d.UseNumber()
		if err := d.Decode(&p); err != nil && err != io.EOF {
			return nil, fmt.Errorf("bad JSON: %w", err)
		}
	} else if err := r.ParseForm(); err != nil {
		return nil, err
	} else {
		p = decodeQuery(r.PostForm)
	}
	for k, v := range decodeQuery(r.URL.Query()) {
		if _, ok := p[k]; !ok {
			p[k] = v
		}
	}
	return p, nil
}

func (s *Server) nextFault(method string) (Fault, bool) {
	for _, m := range []string{method, ""} {
		if q := s.faults[m]; len(q) > 0 {
			s.faults[m] = q[1:]
			return q[0], true
		}
	}
	return Fault{}, false
}

func (s *Server) record(r Request) { s.requests = append(s.requests, r) }

// rpcError is a Bitrix24 error answer.
type rpcError struct {
	status     int
	code, desc string
}

func errorf(status int, code, format string, args ...any) *rpcError {
	return &rpcError{status: status, code: code, desc: fmt.Sprintf(format, args...)}
}

func writeFault(w http.ResponseWriter, f Fault) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	status := f.Status
	if status == 0 {
		status = http.StatusInternalServerError
	}
	writeError(w, status, f.Code, f.Description)
}

func writeError(w http.ResponseWriter, status int, code, desc string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
}

func writeResult(w http.ResponseWriter, res result, now time.Time) {
	body := map[string]any{"result": res.value, "time": timing(now)}
	if res.total != nil {
		body["total"] = *res.total
	}
	if res.next != nil {
		body["next"] = *res.next
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

func timing(now time.Time) map[string]any {
	return map[string]any{
		"start": float64(now.UnixMilli()) / 1000, "finish": float64(now.UnixMilli()) / 1000,
		"duration": 0.001, "processing": 0.001,
		"date_start": now.Format(isoLayout), "date_finish": now.Format(isoLayout),
		"operating_reset_at": now.Add(10 * time.Minute).Unix(), "operating": 0,
	}
}

// isoLayout is ISO-8601 with a numeric offset, as Bitrix24 writes times.
const isoLayout = "2006-01-02T15:04:05-07:00"
