package crmsync

import (
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultRetention is how long after its final event a pushed call keeps
// its events in the outbox (Compact).
const DefaultRetention = 7 * 24 * time.Hour

// Compact drops the events of calls whose push was scheduled and whose
// final event is older than retention, when no job and no dead letter
// needs them any more. A compacted call keeps a small marker (its final
// time, "scheduled"), so a late duplicate of its events never pushes it
// again. It returns how many calls it compacted. The daemon runs it hourly;
// without it the outbox grows by every call's events forever.
func (o *Outbox) Compact(retention time.Duration) (int, error) {
	if retention <= 0 {
		retention = DefaultRetention
	}
	cutoff := o.opts.Now().Add(-retention)
	n := 0
	err := o.store.update("compact CRM outbox", func(tx *bolt.Tx) error {
		needed := map[string]bool{} // call keys a job or dead letter refers to
		for _, b := range [][]byte{bucketJobs, bucketDead} {
			err := tx.Bucket(b).ForEach(func(_, v []byte) error {
				var ref struct {
					Call string `json:"call"`
				}
				if err := json.Unmarshal(v, &ref); err != nil {
					return fmt.Errorf("decode %s entry: %w", b, err)
				}
				needed[ref.Call] = true
				return nil
			})
			if err != nil {
				return err
			}
		}
		type marker struct {
			key string
			st  callState
		}
		var compact []marker
		err := tx.Bucket(bucketCalls).ForEach(func(k, v []byte) error {
			var st callState
			if err := json.Unmarshal(v, &st); err != nil {
				return fmt.Errorf("decode call state: %w", err)
			}
			if st.Scheduled && st.Events != nil && st.FinalAt.Before(cutoff) && !needed[string(k)] {
				compact = append(compact, marker{string(k), callState{FirstSeen: st.FirstSeen, FinalAt: st.FinalAt, Scheduled: true}})
			}
			return nil
		})
		if err != nil {
			return err
		}
		for _, m := range compact { // a bucket must not change during ForEach
			if err := putCall(tx, m.key, m.st); err != nil {
				return err
			}
		}
		n = len(compact)
		return nil
	})
	return n, err
}
