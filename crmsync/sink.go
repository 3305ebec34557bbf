package crmsync

import (
	"context"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/callpulse/callpulse/call"
	"github.com/callpulse/callpulse/spool"
)

// Write is the spool sink of the "crm" consumer. It folds each event into
// its call's state in the outbox; the first time a call is final (an event
// has EndedAt or a final Status) it schedules a push to every target, due
// at that event's ReceivedAt + Options.Settle, so that the rest of the
// call's events can arrive first. Events of a call already scheduled are
// still kept (the push folds whatever is known when it runs) but never
// schedule it again, so redelivered and duplicate events push nothing twice.
//
// Write returns nil once the batch is durable, in one transaction; an error
// makes the consumer retry the same batch, which is harmless.
func (o *Outbox) Write(ctx context.Context, recs []spool.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	scheduled := 0
	err := o.store.update("store CRM call events", func(tx *bolt.Tx) error {
		for _, r := range recs {
			e, err := call.Unmarshal(r.Data)
			if err != nil {
				// The spool only holds what ingest encoded: retrying cannot fix it.
				o.log.Error("skip undecodable spool record", "seq", r.Seq, "err", err)
				continue
			}
			if e.Provider == "" || e.CallID == "" {
				continue
			}
			if e.ReceivedAt.IsZero() {
				e.ReceivedAt = o.opts.Now()
			}
			n, err := o.addEvent(tx, e)
			if err != nil {
				return err
			}
			scheduled += n
		}
		return nil
	})
	if err != nil {
		return err
	}
	if scheduled > 0 {
		o.refreshGauges()
		o.wakeAll()
	}
	return nil
}

// addEvent folds e into its call state and returns the number of jobs it
// scheduled.
func (o *Outbox) addEvent(tx *bolt.Tx, e call.Event) (int, error) {
	key := CallKey(e.Provider, e.CallID)
	st, found, err := getCall(tx, key)
	if err != nil {
		return 0, err
	}
	if !found {
		st.FirstSeen = e.ReceivedAt
	}
	if st.Scheduled && st.Events == nil {
		return 0, nil // compacted: pushed long ago, a late duplicate
	}
	dk := e.DedupKey()
	dup := false
	for _, old := range st.Events {
		if old.DedupKey() == dk {
			dup = true
			break
		}
	}
	if !dup && len(st.Events) < o.opts.MaxEventsPerCall {
		st.Events = append(st.Events, e)
	}
	final := !e.EndedAt.IsZero() || e.Status != call.StatusNone
	if final && (st.FinalAt.IsZero() || e.ReceivedAt.Before(st.FinalAt)) && !st.Scheduled {
		st.FinalAt = e.ReceivedAt
	}
	added := 0
	if !st.FinalAt.IsZero() && !st.Scheduled {
		st.Scheduled = true
		if err := o.noteCall(tx, &st); err != nil {
			return 0, err
		}
		due := st.FinalAt.Add(o.opts.Settle)
		for _, t := range o.targets {
			j := job{id: jobID(t.name, KindCall, key), CRM: t.name, Kind: KindCall, Call: key, Due: due, NextAt: due}
			ok, err := addJob(tx, j)
			if err != nil {
				return 0, err
			}
			if ok {
				added++
			}
		}
	}
	if dup && found && added == 0 {
		return 0, nil // nothing changed
	}
	return added, putCall(tx, key, st)
}

// noteCall remembers the call in the per-phone contact memory and keeps
// in st the contact before it, for the repeat-lead decision at push time.
func (o *Outbox) noteCall(tx *bolt.Tx, st *callState) error {
	c := call.Fold(st.Events)
	if c.ClientPhone == "" {
		return nil
	}
	prev, err := lastContact(tx, c.ClientPhone)
	if err != nil {
		return err
	}
	st.PrevContact = prev
	at := c.StartedAt
	if at.IsZero() {
		at = st.FinalAt
	}
	return noteContact(tx, c.ClientPhone, at)
}

// CallKey is the idempotency key of a call: "provider:call_id".
func CallKey(provider, callID string) string { return provider + ":" + callID }

// record builds the CallRecord of a folded call for target t.
func (o *Outbox) record(t *target, key string, c call.Call) CallRecord {
	r := CallRecord{
		Key:         key,
		Direction:   c.Direction,
		Status:      c.Status,
		ClientPhone: c.ClientPhone,
		LinePhone:   c.LinePhone,
		Manager:     c.Manager,
		CRMUserID:   t.users[c.Manager],
		StartedAt:   c.StartedAt,
		TalkSeconds: c.TalkSeconds,
	}
	if r.StartedAt.IsZero() {
		r.StartedAt = c.EndedAt
	}
	return r
}

// missedTask is the callback task of a missed inbound call, or false.
// The deadline is the time the call was missed (its end, else its start,
// else when it was first known to be final) + Options.MissedSLA.
func (o *Outbox) missedTask(rec CallRecord, c call.Call, finalAt time.Time) (Task, bool) {
	if c.Direction != call.DirectionInbound || c.Status != call.StatusMissed {
		return Task{}, false
	}
	at := c.EndedAt
	if at.IsZero() {
		at = c.StartedAt
	}
	if at.IsZero() {
		at = finalAt
	}
	return Task{
		Key:         rec.Key,
		ClientPhone: rec.ClientPhone,
		CRMUserID:   rec.CRMUserID,
		Title:       "Перезвонить: пропущенный звонок",
		Description: fmt.Sprintf("Пропущенный входящий звонок %s UTC с номера %s на линию %s.", at.UTC().Format("2006-01-02 15:04"), rec.ClientPhone, rec.LinePhone),
		Deadline:    at.Add(o.opts.MissedSLA),
	}, true
}
