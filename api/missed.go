package api

import (
	"net/http"
	"strconv"

	"github.com/callpulse/callpulse/analytics"
)

// missed serves GET /api/v1/missed?from=YYYY-MM-DD&to=YYYY-MM-DD[&open=true]:
// the missed calls that started in the inclusive period (configured time
// zone), oldest first, with their callback, owner and whether the callback
// met the SLA; with open=true only those not called back yet. from and to
// default to today. The client phones are in the answer (managers call
// them back) and are never logged.
func (s *Server) missed(w http.ResponseWriter, r *http.Request) error {
	p, ok := s.period(w, r)
	if !ok {
		return nil
	}
	openOnly := false
	if v := r.URL.Query().Get("open"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeError(w, http.StatusBadRequest, "open: want true or false")
			return nil
		}
		openOnly = b
	}
	sla := s.sla()
	rows, err := s.store.Missed(r.Context(), p, openOnly, sla)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, analytics.BuildMissedReport(p, rows, s.team, sla))
	return nil
}
