package api

import (
	"net/http"

	"github.com/callpulse/callpulse/analytics"
)

// sources serves GET /api/v1/sources?from=YYYY-MM-DD&to=YYYY-MM-DD: the
// funnel per ad source (leads, reached, qualified, won, revenue and the
// rates) of the clients whose first contact falls in the inclusive period,
// in the configured time zone; sorted by leads, descending. from and to
// default to today.
func (s *Server) sources(w http.ResponseWriter, r *http.Request) error {
	p, ok := s.period(w, r)
	if !ok {
		return nil
	}
	rows, err := s.store.Sources(r.Context(), p)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, analytics.BuildSourcesReport(p, rows))
	return nil
}
