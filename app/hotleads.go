package app

import (
	"context"
	"time"

	"github.com/callpulse/callpulse/crmsync"
)

// hotLeadsMark is the outbox watermark of the hot-lead scan.
const hotLeadsMark = "scoring:crossed"

// runHotLeads moves the leads whose score crossed the threshold to the
// CRMs' configured stages: every interval it asks the scorer which leads
// crossed since the previous scan and queues a move per lead and crossing
// in the outbox (so a crash repeats nothing and loses nothing).
func (a *App) runHotLeads(ctx context.Context, every time.Duration) error {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := a.queueHotLeads(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("hot leads not queued; next scan retries", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (a *App) queueHotLeads(ctx context.Context) error {
	since, err := a.crm.Watermark(hotLeadsMark)
	if err != nil {
		return err
	}
	// Taken before the scan: a touch scored between the two is reported
	// again next time, and the job key (lead, crossing time) drops it.
	next := time.Now()
	crossed, err := a.scorer.Crossed(ctx, since)
	if err != nil {
		return err
	}
	leads := make([]crmsync.HotLead, len(crossed))
	for i, c := range crossed {
		leads[i] = crmsync.HotLead{LeadID: c.LeadID, Phone: c.Phone, Score: c.Score, At: c.LastTouchAt}
	}
	n, err := a.crm.EnqueueHotLeads(leads)
	if err != nil {
		return err
	}
	if n > 0 {
		a.log.Info("hot leads queued for their CRM stage", "moves", n)
	}
	return a.crm.SetWatermark(hotLeadsMark, next)
}
