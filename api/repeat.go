package api

import (
	"net/http"

	"github.com/callpulse/callpulse/analytics"
)

// repeatCallers serves GET /api/v1/repeat-callers?from=YYYY-MM-DD&to=YYYY-MM-DD:
// the inbound calls in the inclusive period from clients known before it,
// counted per source and listed oldest first. from and to default to
// today.
func (s *Server) repeatCallers(w http.ResponseWriter, r *http.Request) error {
	p, ok := s.period(w, r)
	if !ok {
		return nil
	}
	calls, err := s.store.RepeatCallers(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, analytics.BuildRepeatReport(p, calls))
	return nil
}
