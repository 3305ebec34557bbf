package bitrix24test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
)

// dedupWindow is how long a register with the same key returns the same
// CALL_ID (§6.2).
const dedupWindow = 30 * time.Minute

var (
	isoWithOffset = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$`)
	phoneDigits   = regexp.MustCompile(`^\+?[0-9]{5,15}$`)
	recordExt     = regexp.MustCompile(`(?i)\.(mp3|wav)$`)
)

// Call is a call registered through telephony.externalCall.register.
type Call struct {
	CallID, ExternalCallID, Phone, Line, StartDate string
	UserID, Type                                   int
	CRMEntityType                                  string
	CRMEntityID                                    int
	RegisteredAt                                   time.Time
	// Finish is the params of finish; nil while the call is open.
	Finish map[string]any
	// Records are the params of every attachRecord, in order.
	Records []map[string]any
}

// Calls returns copies of every registered call, open and finished, in
// registration order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, m := range []map[string]*Call{s.calls, s.finished} {
		for _, c := range m {
			out = append(out, *c)
		}
	}
	slices.SortFunc(out, func(a, b Call) int { return strings.Compare(a.CallID, b.CallID) })
	return out
}

// userOf is the user a call names: USER_ID, else the user whose internal
// number is USER_PHONE_INNER (0 if none).
func (s *Server) userOf(p map[string]any) int {
	if user, ok := atoi(p["USER_ID"]); ok && user != 0 {
		return user
	}
	return s.opts.InnerPhones[str(p["USER_PHONE_INNER"])]
}

func (s *Server) register(p map[string]any, now time.Time) (result, *rpcError) {
	user := s.userOf(p)
	typ, _ := atoi(p["TYPE"])
	phone, start := str(p["PHONE_NUMBER"]), str(p["CALL_START_DATE"])
	switch {
	case user == 0 && str(p["USER_PHONE_INNER"]) == "":
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "USER_ID or USER_PHONE_INNER should be set")
	case !slices.Contains(s.opts.Users, user):
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "User is not found or is not active")
	case typ < 1 || typ > 5:
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "Unknown TYPE")
	case start != "" && !isoWithOffset.MatchString(start):
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "CALL_START_DATE should be in the ISO-8601 format")
	case !phoneDigits.MatchString(phone):
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "Unsupported phone number format")
	}
	c := &Call{ExternalCallID: str(p["EXTERNAL_CALL_ID"]), Phone: phone, Line: str(p["LINE_NUMBER"]),
		StartDate: start, UserID: user, Type: typ, RegisteredAt: now}
	for _, old := range s.calls {
		if old.Phone == c.Phone && old.Type == c.Type && old.UserID == c.UserID && old.Line == c.Line &&
			old.ExternalCallID == c.ExternalCallID && now.Sub(old.RegisteredAt) < dedupWindow {
			return result{value: registerAnswer(old, nil)}, nil
		}
	}
	s.seq++
	c.CallID = fmt.Sprintf("externalCall.%032x.%d", s.seq, now.Unix())
	var created []map[string]any
	if typ, id := s.findByPhone(phone); id != 0 {
		c.CRMEntityType, c.CRMEntityID = typ, id
	} else if str(p["CRM_CREATE"]) == "1" {
		id := s.addLocked("LEAD", Fields{"TITLE": "Call", "SOURCE_ID": str(p["CRM_SOURCE"]),
			"PHONE": []any{map[string]any{"VALUE": phone, "VALUE_TYPE": "WORK"}}, "STATUS_SEMANTIC_ID": "P"})
		c.CRMEntityType, c.CRMEntityID = "LEAD", id
		created = append(created, map[string]any{"ENTITY_TYPE": "LEAD", "ENTITY_ID": id})
	}
	s.calls[c.CallID] = c
	return result{value: registerAnswer(c, created)}, nil
}

func registerAnswer(c *Call, created []map[string]any) map[string]any {
	a := map[string]any{"CALL_ID": c.CallID, "CRM_CREATED_LEAD": nil, "CRM_CREATED_ENTITIES": []any{}}
	if len(created) > 0 {
		a["CRM_CREATED_LEAD"] = created[0]["ENTITY_ID"]
		a["CRM_CREATED_ENTITIES"] = created
	}
	if c.CRMEntityID != 0 {
		a["CRM_ENTITY_TYPE"], a["CRM_ENTITY_ID"] = c.CRMEntityType, c.CRMEntityID
	}
	return a
}

func (s *Server) finish(p map[string]any, _ time.Time) (result, *rpcError) {
	id, ok := p["CALL_ID"].(string)
	if !ok || id == "" {
		return result{}, errorf(http.StatusBadRequest, "INVALID_ARGUMENT", "CALL_ID must be a string")
	}
	user := s.userOf(p)
	if !slices.Contains(s.opts.Users, user) {
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "User is not found or is not active")
	}
	c, ok := s.calls[id]
	if !ok {
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "Call is not found (call should be registered prior to finishing)")
	}
	delete(s.calls, id)
	c.Finish = p
	s.finished[id] = c
	dur, _ := atoi(p["DURATION"])
	code := str(p["STATUS_CODE"])
	if code == "" {
		code = map[bool]string{true: "200", false: "304"}[dur > 0]
	}
	s.seq++
	return result{value: map[string]any{
		"ID": s.seq, "CALL_ID": c.CallID, "EXTERNAL_CALL_ID": c.ExternalCallID, "PORTAL_USER_ID": c.UserID,
		"PHONE_NUMBER": c.Phone, "PORTAL_NUMBER": c.Line, "INCOMING": c.Type, "CALL_DURATION": dur,
		"CALL_START_DATE": c.StartDate, "CALL_STATUS": map[bool]int{true: 1, false: 0}[code == "200"],
		"CALL_FAILED_CODE": code, "CRM_ACTIVITY_ID": s.seq, "CRM_ENTITY_TYPE": c.CRMEntityType,
		"CRM_ENTITY_ID": c.CRMEntityID,
	}}, nil
}

func (s *Server) attachRecord(p map[string]any, _ time.Time) (result, *rpcError) {
	id, name := str(p["CALL_ID"]), str(p["FILENAME"])
	if id == "" || name == "" && str(p["RECORD_URL"]) == "" {
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "Required parameters are not set")
	}
	c, ok := s.finished[id]
	if !ok {
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "Call is not found in the statistic table. It looks like it is not finished yet.")
	}
	if !recordExt.MatchString(name) {
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "Wrong file extension. Only wav and mp3 are allowed")
	}
	c.Records = append(c.Records, p)
	s.seq++
	return result{value: map[string]any{"FILE_ID": s.seq}}, nil
}

func (s *Server) searchCrmEntities(p map[string]any, _ time.Time) (result, *rpcError) {
	phone := str(p["PHONE_NUMBER"])
	if phone == "" {
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "PHONE_NUMBER is required")
	}
	var out []map[string]any
	for _, kind := range []string{"CONTACT", "COMPANY", "LEAD"} {
		for _, e := range s.entities[kind] {
			if hasPhone(e.fields, phone) {
				out = append(out, map[string]any{"CRM_ENTITY_TYPE": kind, "CRM_ENTITY_ID": e.id,
					"ASSIGNED_BY_ID": e.fields["ASSIGNED_BY_ID"], "NAME": e.fields["NAME"]})
			}
		}
	}
	if out == nil {
		return result{value: []any{}}, nil
	}
	return result{value: out}, nil
}

func (s *Server) findByPhone(phone string) (string, int) {
	for _, kind := range []string{"CONTACT", "COMPANY", "LEAD"} {
		for _, e := range s.entities[kind] {
			if hasPhone(e.fields, phone) {
				return kind, e.id
			}
		}
	}
	return "", 0
}

func hasPhone(f Fields, phone string) bool {
	want := digits(phone)
	for _, v := range list(f["PHONE"]) {
		if m, ok := v.(map[string]any); ok && digits(str(m["VALUE"])) == want {
			return true
		}
	}
	return false
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// Todo is a to-do or task the portal holds for a manager.
type Todo struct {
	// Method is crm.activity.todo.add or tasks.task.add.
	Method string
	// Owner is the CRM item it is linked to, "C_7", "L_4" (§6.9 prefixes);
	// "" for a task without UF_CRM_TASK.
	Owner         string
	ResponsibleID int
	Deadline      string
	Title         string
	Description   string
	// PingOffsets are the to-do's reminders, minutes before the deadline.
	PingOffsets []int
}

// Todos returns every to-do and task added, in order.
func (s *Server) Todos() []Todo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.todos)
}

// ownerPrefixes are the CRM item prefixes by ownerTypeId (§6.9).
var ownerPrefixes = map[int]string{1: "L", 2: "D", 3: "C", 4: "CO"}

func (s *Server) todoAdd(p map[string]any, _ time.Time) (result, *rpcError) {
	owner, _ := atoi(p["ownerTypeId"])
	id, _ := atoi(p["ownerId"])
	dl := str(p["deadline"])
	switch {
	case owner < 1 || owner > 4 || id == 0:
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "ownerTypeId and ownerId are required")
	case !isoWithOffset.MatchString(dl):
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "deadline is required")
	}
	resp, _ := atoi(p["responsibleId"])
	var pings []int
	for _, v := range list(p["pingOffsets"]) {
		if n, ok := atoi(v); ok {
			pings = append(pings, n)
		}
	}
	s.seq++
	s.todos = append(s.todos, Todo{Method: "crm.activity.todo.add", Owner: fmt.Sprintf("%s_%d", ownerPrefixes[owner], id),
		ResponsibleID: resp, Deadline: dl, Title: str(p["title"]), Description: str(p["description"]), PingOffsets: pings})
	return result{value: map[string]any{"id": s.seq}}, nil
}

func (s *Server) taskAdd(p map[string]any, _ time.Time) (result, *rpcError) {
	f, _ := p["fields"].(map[string]any)
	if str(f["TITLE"]) == "" || str(f["RESPONSIBLE_ID"]) == "" {
		return result{}, errorf(http.StatusBadRequest, "ERROR_CORE", "TITLE and RESPONSIBLE_ID are required")
	}
	resp, _ := atoi(f["RESPONSIBLE_ID"])
	var owner string
	if links := list(f["UF_CRM_TASK"]); len(links) > 0 {
		owner = str(links[0])
	}
	s.seq++
	s.todos = append(s.todos, Todo{Method: "tasks.task.add", Owner: owner, ResponsibleID: resp,
		Deadline: str(f["DEADLINE"]), Title: str(f["TITLE"]), Description: str(f["DESCRIPTION"])})
	return result{value: map[string]any{"task": map[string]any{"id": s.seq, "title": f["TITLE"]}}}, nil
}
