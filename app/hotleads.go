package app

import (
	"context"
	"time"

	"github.com/callpulse/callpulse/crmsync"
)

// hotLeadsMark is the outbox watermark of the hot-lead scan: the start of
// the latest scan. Its name is the one the versions that judged crossings
// by the touches' times gave it, so that an upgrade finds it.
const hotLeadsMark = "scoring:crossed"

// runHotLeads moves the leads whose score reached the threshold to the
// CRMs' configured stages: every interval it lists the hot leads and hands
// the list to the outbox, which queues a move of each lead entering it
// (durably, so a crash repeats nothing and loses nothing).
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
	// The watermark, the start of the previous scan, matters only on the
	// first scan after an upgrade from a version that kept no list of hot
	// leads: the leads hot as of then by their touches' times are taken as
	// moved already. (That version missed the leads whose touches arrived
	// late; they are not moved now either.)
	keeps, err := a.crm.KeepsHotList()
	if err != nil {
		return err
	}
	var since time.Time
	if !keeps {
		if since, err = a.crm.Watermark(hotLeadsMark); err != nil {
			return err
		}
	}
	next := time.Now()
	hot, err := a.scorer.Hot(ctx, since)
	if err != nil {
		return err
	}
	leads := make([]crmsync.HotLead, len(hot))
	for i, h := range hot {
		leads[i] = crmsync.HotLead{LeadID: h.LeadID, Phone: h.Phone, Score: h.Score, At: h.LastTouchAt,
			WasHot: !since.IsZero() && float64(h.ScoreBefore) >= h.Threshold}
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
