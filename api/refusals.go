package api

import (
	"net/http"

	"github.com/callpulse/callpulse/analytics"
)

// refusals serves GET /api/v1/refusals?from=YYYY-MM-DD&to=YYYY-MM-DD: the
// loss reasons of deals lost (closed) in the inclusive period, counted per
// source and manager, most frequent first. from and to default to today.
func (s *Server) refusals(w http.ResponseWriter, r *http.Request) error {
	p, ok := s.period(w, r)
	if !ok {
		return nil
	}
	rows, err := s.store.Refusals(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, analytics.BuildRefusalReport(p, rows, s.team))
	return nil
}
