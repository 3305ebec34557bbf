package crmsync

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	bolt "go.etcd.io/bbolt"
)

// KindLead is the job that moves a lead whose score reached the threshold
// to the account's configured stage.
const KindLead = "lead"

// Buckets of the hot-lead scan's memory, made by its first call (so their
// absence tells a first scan).
var (
	// bucketHot holds the leads of the latest scan's list: lead → empty.
	bucketHot = []byte("hot")
	// bucketHotSeen holds, per lead ever listed, the latest last touch it
	// had while listed (RFC 3339 nano).
	bucketHotSeen = []byte("hot_seen")
)

// HotLead is a lead whose score is at or above the scoring threshold.
type HotLead struct {
	// LeadID is the lead's id in the CRM as touches named it (Bitrix24
	// "L_123" or "123", amoCRM "31415926"); Phone its E.164 phone. One of
	// them is set.
	LeadID string `json:"lead_id,omitempty"`
	Phone  string `json:"phone,omitempty"`
	Score  int64  `json:"score"`
	// At is its last touch: a lead that cools down and is touched back
	// over the threshold is moved again.
	At time.Time `json:"at"`
	// WasHot tells that the lead was at or above the threshold already at
	// the previous scan. It is read only when the outbox keeps no list
	// yet: on the first scan after an upgrade from a version that judged
	// crossings by the touches' times.
	WasHot bool `json:"-"`
}

// key names the lead in the hot list as the scorer does: by its phone,
// else (a lead known only by its id) by its lead id. A phone lead's LeadID
// is its newest touch naming one and may change while it is listed; its
// phone does not.
func (l HotLead) key() string {
	if l.Phone != "" {
		return "phone:" + l.Phone
	}
	return l.LeadID
}

// LeadMover is a Pusher that can move a hot lead to a configured stage.
type LeadMover interface {
	// MovesLeads reports whether a stage is configured.
	MovesLeads() bool
	MoveLead(ctx context.Context, l HotLead) error
}

// EnqueueHotLeads takes the list of every lead at or above the scoring
// threshold now, as the hot-lead scan found it, and queues a move of each
// lead that entered the list since the previous call, for every target
// whose Pusher moves leads. A lead moves once per last touch: one that
// decays under the threshold and is touched back over it moves again; one
// that a recalibrated threshold pushes out of the list and back, with no
// touch since it was last listed, does not. Because lists are compared, not scores as of two
// times, a touch that reaches ClickHouse late, dated before the previous
// scan, still moves its lead.
//
// The list, and the latest last touch each lead had while listed (which
// only moves forward), are kept in the outbox, in the same transaction as
// the jobs, so a crash repeats
// nothing and loses nothing. A lead listed twice counts once, as its first
// entry (the list is hottest first). Entries are never removed: about 60
// bytes per lead ever listed. The first call ever (no list kept) takes the
// leads with WasHot as listed and moved already. It returns how many jobs
// it added.
func (o *Outbox) EnqueueHotLeads(leads []HotLead) (int, error) {
	now := o.opts.Now()
	added := 0
	err := o.store.update("queue hot leads", func(tx *bolt.Tx) error {
		first := tx.Bucket(bucketHot) == nil
		listed, err := tx.CreateBucketIfNotExists(bucketHot)
		if err != nil {
			return err
		}
		seen, err := tx.CreateBucketIfNotExists(bucketHotSeen)
		if err != nil {
			return err
		}
		inList := make(map[string]bool, len(leads))
		for _, l := range leads {
			who := []byte(l.key())
			if len(who) == 0 || inList[string(who)] {
				continue
			}
			inList[string(who)] = true
			var last time.Time // the latest last touch seen while listed
			if v := seen.Get(who); v != nil {
				if err := last.UnmarshalText(v); err != nil {
					return fmt.Errorf("decode the last touch of a hot lead: %w", err)
				}
			}
			// It moves when it enters the list with a touch newer than any
			// seen while listed; the first scan ever takes those the
			// version before had listed as moved.
			if listed.Get(who) == nil && l.At.After(last) && !(first && l.WasHot) {
				n, err := o.addLeadMoves(tx, l, string(who), now)
				if err != nil {
					return err
				}
				added += n
			}
			if err := listed.Put(who, nil); err != nil {
				return err
			}
			if l.At.After(last) {
				at, err := l.At.UTC().MarshalText()
				if err != nil {
					return fmt.Errorf("encode the last touch of a hot lead: %w", err)
				}
				if err := seen.Put(who, at); err != nil {
					return err
				}
			}
		}
		var gone [][]byte
		if err := listed.ForEach(func(k, _ []byte) error {
			if !inList[string(k)] {
				gone = append(gone, bytes.Clone(k))
			}
			return nil
		}); err != nil {
			return err
		}
		for _, k := range gone {
			if err := listed.Delete(k); err != nil {
				return err
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

// KeepsHotList reports whether the outbox keeps a hot-lead list yet, that
// is whether EnqueueHotLeads ran since the upgrade that brought the list.
func (o *Outbox) KeepsHotList() (bool, error) {
	keeps := false
	err := o.store.db.View(func(tx *bolt.Tx) error {
		keeps = tx.Bucket(bucketHot) != nil
		return nil
	})
	if err != nil {
		return false, fmt.Errorf("look for the hot-lead list: %w", err)
	}
	return keeps, nil
}

// addLeadMoves queues a move of l (named who) for every target whose
// Pusher moves leads, once per (lead, last touch), and returns how many
// jobs it added.
func (o *Outbox) addLeadMoves(tx *bolt.Tx, l HotLead, who string, due time.Time) (int, error) {
	added := 0
	for _, t := range o.targets {
		if m, ok := t.pusher.(LeadMover); !ok || !m.MovesLeads() {
			continue
		}
		key := who + "@" + strconv.FormatInt(l.At.Unix(), 10)
		lead := l
		j := job{id: jobID(t.name, KindLead, key), CRM: t.name, Kind: KindLead, Call: key, Due: due, NextAt: due, Lead: &lead}
		ok, err := addJob(tx, j)
		if err != nil {
			return added, err
		}
		if ok {
			added++
		}
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
