package gravitel

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/callpulse/callpulse/client"
	"github.com/callpulse/callpulse/ingest"
)

// Directory finds what callpulse knows about a caller. warehouse.DB
// implements it.
type Directory interface {
	// Client returns the client with the E.164 phone, and false if there
	// is none. It must return promptly once ctx is done. Errors must not
	// contain the phone number: they are logged.
	Client(ctx context.Context, phone string) (client.Client, bool, error)
}

// Route keys in Route.Category besides the grades A, B and C.
const (
	// RouteUnknown matches a known client without a grade.
	RouteUnknown = string(client.CategoryUnknown)
	// RouteNew matches a caller that is not a client (or hides its number).
	RouteNew = "new"
	// RouteRefused is reserved for clients whose deal was lost. It is
	// accepted in configuration but matches nobody until callpulse has
	// deal data.
	RouteRefused = "refused"
)

// Route sends callers of one kind to a responsible PBX user.
type Route struct {
	// Category is the caller's kind: A, B, C (any case), RouteUnknown,
	// RouteNew or RouteRefused.
	Category string
	// Responsible is the PBX user login returned to the PBX, which may
	// ring that user first.
	Responsible string
}

// compileRoutes checks the rules and canonicalises their categories.
func compileRoutes(rules []Route) ([]Route, error) {
	out := make([]Route, 0, len(rules))
	seen := map[string]bool{}
	for i, r := range rules {
		key := strings.TrimSpace(r.Category)
		switch strings.ToLower(key) {
		case "a", "b", "c":
			key = strings.ToUpper(key)
		case RouteUnknown, RouteNew, RouteRefused:
			key = strings.ToLower(key)
		default:
			return nil, fmt.Errorf("routing[%d]: category %q: want A, B, C, %s, %s or %s",
				i, r.Category, RouteUnknown, RouteNew, RouteRefused)
		}
		if seen[key] {
			return nil, fmt.Errorf("routing[%d]: category %s: a second rule would never match", i, key)
		}
		seen[key] = true
		resp := strings.TrimSpace(r.Responsible)
		if resp == "" || len(resp) > maxManagerLen || !printable(resp) {
			return nil, fmt.Errorf("routing[%d]: responsible: want a PBX user login of 1 to %d printable bytes", i, maxManagerLen)
		}
		out = append(out, Route{Category: key, Responsible: resp})
	}
	return out, nil
}

// contactReply is the answer to cmd=contact. Empty fields are left out, so
// an unknown caller gets {}.
type contactReply struct {
	ContactName string `json:"contact_name,omitempty"`
	Responsible string `json:"responsible,omitempty"`
}

// contact answers cmd=contact: the PBX holds the ringing call until it
// knows the caller's name and responsible user. Whatever goes wrong, it
// gets 200 and as much as is known, at worst {}.
func (p *Provider) contact(ctx context.Context, f form) ingest.Parsed {
	reply := p.lookup(ctx, f)
	return ingest.Parsed{Reply: func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		_ = json.NewEncoder(w).Encode(reply)
	}}
}

func (p *Provider) lookup(ctx context.Context, f form) contactReply {
	if p.dir == nil {
		return contactReply{}
	}
	callID := f.get("callid")
	if len(callID) > maxIDLen || !printable(callID) {
		callID = ""
	}
	phone, err := f.phone("phone", p.norm)
	if err != nil || phone == "" {
		// A hidden or unusable number: nobody we know.
		return p.route(client.Client{}, false)
	}
	ctx, cancel := context.WithTimeout(ctx, p.contactTimeout)
	defer cancel()
	c, found, err := p.dir.Client(ctx, phone)
	if err != nil {
		p.log.WarnContext(ctx, "contact lookup failed; answered with an empty contact", "callid", callID, "err", err)
		return contactReply{}
	}
	reply := p.route(c, found)
	p.log.DebugContext(ctx, "contact answered", "callid", callID, "found", found,
		"category", string(c.Category), "responsible", reply.Responsible)
	return reply
}

// route picks the responsible user: the first rule for the caller's kind,
// else the client's own manager, else nobody.
func (p *Provider) route(c client.Client, found bool) contactReply {
	key := RouteNew
	if found {
		key = string(c.Category)
		if !c.Category.Known() {
			key = RouteUnknown
		}
	}
	reply := contactReply{ContactName: strings.TrimSpace(c.Name)}
	for _, r := range p.routes {
		if r.Category == key {
			reply.Responsible = r.Responsible
			return reply
		}
	}
	reply.Responsible = strings.TrimSpace(c.Manager)
	return reply
}
