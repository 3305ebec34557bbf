package recordings

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/callpulse/callpulse/call"
)

// Buckets of the job database.
var (
	bucketPending = []byte("pending") // job key → job (JSON)
	bucketDue     = []byte("due")     // next attempt (8 bytes, big-endian unix ns) + job key → empty
	bucketDead    = []byte("dead")    // job key → deadJob (JSON)
)

// job is one recording to fetch, keyed by (provider, call id, reference) so
// that every event announcing the same recording collapses into one job.
type job struct {
	key string
	// Event is the announcing event reduced to what a Locator may use (no
	// phone numbers).
	Event     call.Event `json:"event"`
	Due       time.Time  `json:"due"`     // first attempt; GiveUpAfter counts from here
	NextAt    time.Time  `json:"next_at"` // next attempt
	Attempts  int        `json:"attempts"`
	LastError string     `json:"last_error,omitempty"`
}

// deadJob is a job that failed permanently, kept for inspection.
type deadJob struct {
	job
	Reason string    `json:"reason"`
	DiedAt time.Time `json:"died_at"`
}

// newJob makes the job for an event that carries a recording URL or ref.
func newJob(e call.Event, delay time.Duration) job {
	ev := call.Event{
		Provider: e.Provider, CallID: e.CallID, EventKey: e.EventKey, ReceivedAt: e.ReceivedAt,
		RecordingURL: e.RecordingURL, RecordingRef: e.RecordingRef,
	}
	due := e.ReceivedAt.Add(delay)
	return job{key: jobKey(ev), Event: ev, Due: due, NextAt: due}
}

// jobKey is (provider, call id, ref) as a JSON array: unambiguous for any
// strings. The ref is RecordingRef, or RecordingURL for URL-only events.
func jobKey(e call.Event) string {
	ref := e.RecordingRef
	if ref == "" {
		ref = e.RecordingURL
	}
	b, _ := json.Marshal([3]string{e.Provider, e.CallID, ref}) // strings always encode
	return string(b)
}

// jobStore is the durable job queue: a bbolt database, so each change is
// one fsynced transaction and survives crashes and restarts.
type jobStore struct {
	db *bolt.DB
}

// openJobs opens or creates the job database, waiting up to lockWait for
// another process that holds it.
func openJobs(path string, lockWait time.Duration) (*jobStore, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open job store %s: locked by another process", path)
		}
		return nil, fmt.Errorf("open job store %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketPending, bucketDue, bucketDead} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create job store buckets in %s: %w", path, err)
	}
	return &jobStore{db: db}, nil
}

func (s *jobStore) close() error { return s.db.Close() }

// known reports which of keys are already pending or dead.
func (s *jobStore) known(keys []string) (map[string]bool, error) {
	out := make(map[string]bool, len(keys))
	err := s.db.View(func(tx *bolt.Tx) error {
		pending, dead := tx.Bucket(bucketPending), tx.Bucket(bucketDead)
		for _, k := range keys {
			if pending.Get([]byte(k)) != nil || dead.Get([]byte(k)) != nil {
				out[k] = true
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read job store: %w", err)
	}
	return out, nil
}

// add stores the jobs that are neither pending nor dead yet, in one
// transaction, and returns how many it added. A dead job is not revived by
// a re-delivered event.
func (s *jobStore) add(jobs []job) (int, error) {
	added := 0
	err := s.db.Update(func(tx *bolt.Tx) error {
		pending, dead := tx.Bucket(bucketPending), tx.Bucket(bucketDead)
		for _, j := range jobs {
			if pending.Get([]byte(j.key)) != nil || dead.Get([]byte(j.key)) != nil {
				continue
			}
			if err := putPending(tx, j); err != nil {
				return err
			}
			added++
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("add %d recording jobs: %w", len(jobs), err)
	}
	return added, nil
}

// due returns up to limit pending jobs whose next attempt is at or before
// now, skipping the keys in busy, earliest first. next is the next attempt
// time of the first job it did not return (zero if there is none): the
// moment to look again.
func (s *jobStore) due(now time.Time, limit int, busy map[string]bool) (jobs []job, next time.Time, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		pending := tx.Bucket(bucketPending)
		c := tx.Bucket(bucketDue).Cursor()
		for k, _ := c.First(); k != nil; k, _ = c.Next() {
			at, key := decodeDueKey(k)
			if busy[key] {
				continue
			}
			if at.After(now) || len(jobs) >= limit {
				next = at
				return nil
			}
			j, err := decodeJob(key, pending.Get([]byte(key)))
			if err != nil {
				return err
			}
			jobs = append(jobs, j)
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read due recording jobs: %w", err)
	}
	return jobs, next, nil
}

// reschedule replaces a pending job (its NextAt, Attempts, LastError).
func (s *jobStore) reschedule(j job) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := deletePending(tx, j.key); err != nil {
			return err
		}
		return putPending(tx, j)
	})
	if err != nil {
		return fmt.Errorf("reschedule recording job: %w", err)
	}
	return nil
}

// remove deletes a pending job that is done.
func (s *jobStore) remove(key string) error {
	if err := s.db.Update(func(tx *bolt.Tx) error { return deletePending(tx, key) }); err != nil {
		return fmt.Errorf("remove recording job: %w", err)
	}
	return nil
}

// bury moves a pending job to the dead jobs.
func (s *jobStore) bury(d deadJob) error {
	err := s.db.Update(func(tx *bolt.Tx) error {
		if err := deletePending(tx, d.key); err != nil {
			return err
		}
		v, err := json.Marshal(d)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketDead).Put([]byte(d.key), v)
	})
	if err != nil {
		return fmt.Errorf("mark recording job dead: %w", err)
	}
	return nil
}

// counts returns the number of pending and dead jobs.
func (s *jobStore) counts() (pending, dead int, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		pending = tx.Bucket(bucketPending).Stats().KeyN
		dead = tx.Bucket(bucketDead).Stats().KeyN
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("count recording jobs: %w", err)
	}
	return pending, dead, nil
}

// pendingJobs returns every pending job in key order.
func (s *jobStore) pendingJobs() ([]job, error) {
	var out []job
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketPending).ForEach(func(k, v []byte) error {
			j, err := decodeJob(string(k), v)
			out = append(out, j)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list recording jobs: %w", err)
	}
	return out, nil
}

// deadJobs returns every dead job in key order.
func (s *jobStore) deadJobs() ([]deadJob, error) {
	var out []deadJob
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDead).ForEach(func(k, v []byte) error {
			var d deadJob
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode dead job: %w", err)
			}
			d.key = string(k)
			out = append(out, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list dead recording jobs: %w", err)
	}
	return out, nil
}

func putPending(tx *bolt.Tx, j job) error {
	v, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encode job: %w", err)
	}
	if err := tx.Bucket(bucketPending).Put([]byte(j.key), v); err != nil {
		return err
	}
	return tx.Bucket(bucketDue).Put(dueKey(j.NextAt, j.key), nil)
}

// deletePending removes a pending job and its due index entry, if present.
func deletePending(tx *bolt.Tx, key string) error {
	pending := tx.Bucket(bucketPending)
	old := pending.Get([]byte(key))
	if old == nil {
		return nil
	}
	j, err := decodeJob(key, old)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketDue).Delete(dueKey(j.NextAt, key)); err != nil {
		return err
	}
	return pending.Delete([]byte(key))
}

func decodeJob(key string, v []byte) (job, error) {
	if v == nil {
		return job{}, fmt.Errorf("job store: due entry without job %s", key)
	}
	var j job
	if err := json.Unmarshal(v, &j); err != nil {
		return job{}, fmt.Errorf("decode job: %w", err)
	}
	j.key = key
	return j, nil
}

// dueKey orders jobs by next attempt; times before 1970 sort first.
func dueKey(at time.Time, key string) []byte {
	b := make([]byte, 8, 8+len(key))
	binary.BigEndian.PutUint64(b, uint64(max(at.UnixNano(), 0)))
	return append(b, key...)
}

func decodeDueKey(k []byte) (time.Time, string) {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))), string(k[8:])
}
