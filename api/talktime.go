package api

import (
	"net/http"

	"github.com/callpulse/callpulse/analytics"
)

// talkTime serves GET /api/v1/talk-time?from=YYYY-MM-DD&to=YYYY-MM-DD[&manager=ID]:
// per manager, talk seconds per client category (at call time), shares and
// the targets, for the inclusive period in the configured time zone; plus
// the same per day. from and to default to today.
func (s *Server) talkTime(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, ok := s.period(w, r)
	if !ok {
		return nil
	}
	var extensions []string
	if id := q.Get("manager"); id != "" {
		m, ok := s.team.Lookup(id)
		if !ok {
			// An extension that is not configured is still a valid filter.
			m = analytics.Manager{ID: id, Extensions: []string{id}}
		}
		extensions = m.Extensions
	}
	rows, err := s.store.TalkTime(r.Context(), p, extensions)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, analytics.BuildTalkReport(p, rows, s.team, s.targets))
	return nil
}
