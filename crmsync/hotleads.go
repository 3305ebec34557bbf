package crmsync

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// KindLead is the job that moves a lead whose score crossed the threshold
// to the account's configured stage.
const KindLead = "lead"

// HotLead is a lead whose score reached the scoring threshold.
type HotLead struct {
	// LeadID is the lead's id in the CRM as touches named it (Bitrix24
	// "L_123" or "123", amoCRM "31415926"); Phone its E.164 phone. One of
	// them is set.
	LeadID string `json:"lead_id,omitempty"`
	Phone  string `json:"phone,omitempty"`
	Score  int64  `json:"score"`
	// At is when its score crossed (its last touch): a lead that cools down
	// and crosses again is moved again.
	At time.Time `json:"at"`
}

// LeadMover is a Pusher that can move a hot lead to a configured stage.
type LeadMover interface {
	// MovesLeads reports whether a stage is configured.
	MovesLeads() bool
	MoveLead(ctx context.Context, l HotLead) error
}

// EnqueueHotLeads queues a move of each lead for every target whose Pusher
// moves leads, once per (lead, crossing time), durably. It returns how
// many jobs it added.
func (o *Outbox) EnqueueHotLeads(leads []HotLead) (int, error) {
	now := o.opts.Now()
	added := 0
	err := o.store.update("queue hot leads", func(tx *bolt.Tx) error {
		for _, t := range o.targets {
			if m, ok := t.pusher.(LeadMover); !ok || !m.MovesLeads() {
				continue
			}
			for _, l := range leads {
				if l.LeadID == "" && l.Phone == "" {
					continue
				}
				who := l.LeadID
				if who == "" {
					who = "phone:" + l.Phone
				}
				key := who + "@" + strconv.FormatInt(l.At.Unix(), 10)
				lead := l
				j := job{id: jobID(t.name, KindLead, key), CRM: t.name, Kind: KindLead, Call: key, Due: now, NextAt: now, Lead: &lead}
				ok, err := addJob(tx, j)
				if err != nil {
					return err
				}
				if ok {
					added++
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	if added > 0 {
		o.refreshGauges()
		o.wakeAll()
	}
	return added, nil
}

// MovesLeads reports whether any target moves hot leads.
func (o *Outbox) MovesLeads() bool {
	for _, t := range o.targets {
		if m, ok := t.pusher.(LeadMover); ok && m.MovesLeads() {
			return true
		}
	}
	return false
}

// moveLead is the attempt of a KindLead job.
func (o *Outbox) moveLead(ctx context.Context, t *target, j job) error {
	m, ok := t.pusher.(LeadMover)
	if !ok || j.Lead == nil {
		return &Error{Reason: "lead moves not supported", Err: errors.New("crmsync: the CRM client cannot move leads")}
	}
	return o.request(ctx, t, func(ctx context.Context) error {
		if err := m.MoveLead(ctx, *j.Lead); err != nil {
			return fmt.Errorf("move hot lead: %w", err)
		}
		return nil
	})
}
