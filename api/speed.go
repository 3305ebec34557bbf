package api

import (
	"net/http"

	"github.com/callpulse/callpulse/analytics"
)

// speedToLead serves GET /api/v1/speed-to-lead?from=YYYY-MM-DD&to=YYYY-MM-DD:
// per manager and ad source, how long the inbound leads whose first contact
// falls in the inclusive period waited for their first answered call
// (median, p90, within the callback SLA), and how many are not reached yet.
// from and to default to today.
func (s *Server) speedToLead(w http.ResponseWriter, r *http.Request) error {
	p, ok := s.period(w, r)
	if !ok {
		return nil
	}
	sla := s.sla()
	rows, err := s.store.SpeedToLead(r.Context(), p, sla, s.team)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, analytics.BuildSpeedReport(p, rows, s.team, sla))
	return nil
}
