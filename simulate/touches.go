package simulate

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"time"
)

// Touch is one tracked action of a client on the site or in the CRM, as
// POST /api/v1/touches takes it: what a site's analytics would send.
type Touch struct {
	ID     string // "sim-<client index>-<n>": posting again stores nothing new
	Phone  string
	Action string
	At     time.Time
	// UTMSource is the ad source the visit came through; empty if none.
	UTMSource string
}

// touchJSON is a Touch on the wire.
type touchJSON struct {
	TouchID   string  `json:"touch_id"`
	Phone     string  `json:"phone"`
	Action    string  `json:"action"`
	At        string  `json:"at"`
	UTMSource *string `json:"utm_source,omitempty"`
}

// An interest is how a client behaves on the site: how many touches and
// which actions, by weight. Clients who went on to buy looked at prices and
// applied; the undecided browse; the rest open an e-mail now and then.
type interest struct {
	minTouches, maxTouches int
	actions                []weighted
}

var (
	// hot clients won their deal.
	hot = interest{4, 8, []weighted{{"application", 3}, {"pricing_page", 3}, {"consultation", 2}, {"site_visit", 3},
		{"form_view", 2}, {"video_download", 1}, {"email_open", 1}, {"link_click", 1}}}
	// warm clients have an open deal: the call queue's candidates.
	warm = interest{2, 6, []weighted{{"site_visit", 4}, {"pricing_page", 3}, {"form_view", 2}, {"application", 1},
		{"email_open", 2}, {"link_click", 2}, {"video_download", 1}, {"consultation", 1}}}
	// cold clients lost their deal or have none.
	cold = interest{0, 3, []weighted{{"site_visit", 5}, {"email_open", 3}, {"link_click", 2}, {"pricing_page", 1}}}
)

// touchesStream separates the random stream of Touches from the others.
const touchesStream = 0x746f7563686573 // "touches"

// Touches returns the site and CRM touches of clients, generated
// deterministically from seed, in [from, now): 4-8 high-intent ones
// (applications, the pricing page, consultations) for clients whose deal
// was won, all before it closed, so that they calibrate the scoring
// threshold; 2-6 for clients with an open deal, the call queue's
// candidates; 0-3 site visits and e-mail opens for the rest, before their
// deal closed if they lost it. Each carries the client's ad source as its
// utm_source.
func Touches(seed int64, clients []Client, deals []Deal, from, now time.Time) []Touch {
	rng := rand.New(rand.NewPCG(uint64(seed), touchesStream))
	dealOf := make(map[string]Deal, len(deals))
	for _, d := range deals {
		dealOf[d.Phone] = d
	}
	var out []Touch
	for i, c := range clients {
		d, ok := dealOf[c.Phone]
		in, end := cold, now
		switch {
		case ok && d.Stage == stageWon:
			in, end = hot, d.ClosedAt
		case ok && d.Stage == stageOpen:
			in = warm
		case ok:
			end = d.ClosedAt
		}
		n := in.minTouches + rng.IntN(in.maxTouches-in.minTouches+1)
		for k := range n {
			at := from
			if span := end.Sub(from); span > 0 {
				at = from.Add(time.Duration(rng.Int64N(int64(span)))).Truncate(time.Second)
			}
			out = append(out, Touch{ID: "sim-" + strconv.Itoa(i) + "-" + strconv.Itoa(k), Phone: c.Phone,
				Action: pickWeighted(rng, in.actions), At: at, UTMSource: c.Source})
		}
	}
	return out
}

// touchesPerPost is how many touches one request carries, well within the
// API's limit (scoring.MaxTouches).
const touchesPerPost = 500

// postTouches posts touches to {URL}/api/v1/touches with the API token, in
// requests of touchesPerPost, retrying as the webhook posts do. It returns
// an error only when ctx is done.
func (s *simulation) postTouches(ctx context.Context, touches []Touch) error {
	endpoint, _ := url.JoinPath(s.o.URL, "api/v1/touches") // the URL is validated
	p := s.poster
	p.endpoint, p.token, p.unit, p.accepted = endpoint, s.o.APIToken, "touches", &s.stats.Touches
	for len(touches) > 0 {
		n := min(len(touches), touchesPerPost)
		body, err := touchesBody(touches[:n], s.o.Location)
		if err != nil {
			return err
		}
		if err := p.post(ctx, body, n); err != nil {
			return err
		}
		touches = touches[n:]
	}
	return nil
}

// touchesBody is the JSON array of touches, times in loc.
func touchesBody(touches []Touch, loc *time.Location) ([]byte, error) {
	items := make([]touchJSON, len(touches))
	for i, t := range touches {
		items[i] = touchJSON{TouchID: t.ID, Phone: t.Phone, Action: t.Action, At: t.At.In(loc).Format(time.RFC3339)}
		if t.UTMSource != "" {
			items[i].UTMSource = &touches[i].UTMSource
		}
	}
	body, err := json.Marshal(items)
	if err != nil {
		return nil, fmt.Errorf("encode touches: %w", err)
	}
	return body, nil
}
