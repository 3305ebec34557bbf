package crmsync

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/callpulse/callpulse/call"
)

// Buckets of the outbox database.
var (
	bucketCalls = []byte("calls") // call key → callState (JSON)
	bucketJobs  = []byte("jobs")  // job id → job (JSON)
	bucketDue   = []byte("due")   // crm + 0x00 + next attempt (8 bytes BE unix ns) + job id → empty
	bucketDead  = []byte("dead")  // job id → DeadLetter (JSON)
	bucketPull  = []byte("pull")  // crm → watermark (RFC 3339 nano)
	// bucketPhones holds, per client phone, the start of the latest call
	// with it the outbox has seen (RFC 3339 nano): the memory behind
	// repeat leads.
	bucketPhones = []byte("phones")
	// The hot-lead list, bucketHot and bucketHotSeen (hotleads.go), is
	// made by the first scan on purpose: its absence tells that scan.
)

// Job kinds.
const (
	KindCall      = "call"
	KindTask      = "task"
	KindRecording = "recording"
	// KindNotify is the priority notification of a repeat lead: a task due
	// at once for the client's responsible manager.
	KindNotify = "notify"
)

// callState is what the outbox knows about one call: its events (deduped by
// DedupKey, at most MaxEventsPerCall) and whether its pushes are scheduled.
type callState struct {
	Events    []call.Event `json:"events"`
	FirstSeen time.Time    `json:"first_seen"`
	// FinalAt is the ReceivedAt of the first final event; zero until then.
	FinalAt time.Time `json:"final_at,omitzero"`
	// Scheduled is set once push jobs were created for every target; later
	// events are folded in but never schedule another push.
	Scheduled bool `json:"scheduled,omitempty"`
	// PrevContact is the start of the latest earlier call with the same
	// client phone that the outbox had seen when this call was scheduled
	// (zero if none): a repeat lead is an inbound call after a long gap.
	PrevContact time.Time `json:"prev_contact,omitzero"`
}

// job is one request to make to one CRM.
type job struct {
	id        string
	CRM       string      `json:"crm"`
	Kind      string      `json:"kind"`
	Call      string      `json:"call"` // call key "provider:call_id"; for lead jobs the lead and its last touch
	Due       time.Time   `json:"due"`  // first attempt; GiveUpAfter counts from here
	NextAt    time.Time   `json:"next_at"`
	Attempts  int         `json:"attempts"`
	LastError string      `json:"last_error,omitempty"`
	Ref       Ref         `json:"ref,omitzero"`     // recording: the pushed call
	Record    *CallRecord `json:"record,omitempty"` // recording: the pushed call
	Task      *Task       `json:"task,omitempty"`   // task
	Lead      *HotLead    `json:"lead,omitempty"`   // lead
	// Until bounds recording polls; zero for other kinds.
	Until time.Time `json:"until,omitzero"`
}

func jobID(crm, kind, callKey string) string { return crm + "/" + kind + "/" + callKey }

// DeadLetter is a CRM request that failed permanently, kept with its reason
// until it is retried.
type DeadLetter struct {
	ID       string    `json:"id"` // "crm/kind/provider:call_id"
	CRM      string    `json:"crm"`
	Kind     string    `json:"kind"`
	Call     string    `json:"call"`
	Status   int       `json:"status,omitempty"` // HTTP status, 0 if none
	Reason   string    `json:"reason"`
	Error    string    `json:"error"`
	Attempts int       `json:"attempts"`
	Due      time.Time `json:"due"`
	DiedAt   time.Time `json:"died_at"`
	Job      job       `json:"job"`
}

// ErrNotFound is returned by Retry for an unknown dead letter id.
var ErrNotFound = errors.New("dead letter not found")

// store is the durable outbox: a bbolt database, one fsynced transaction per
// change.
type store struct{ db *bolt.DB }

func openStore(path string, lockWait time.Duration) (*store, error) {
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: lockWait})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("open CRM outbox %s: locked by another process (is the daemon running?)", path)
		}
		return nil, fmt.Errorf("open CRM outbox %s: %w", path, err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bucketCalls, bucketJobs, bucketDue, bucketDead, bucketPull, bucketPhones} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("create CRM outbox buckets in %s: %w", path, err)
	}
	return &store{db: db}, nil
}

func (s *store) close() error { return s.db.Close() }

func getCall(tx *bolt.Tx, key string) (callState, bool, error) {
	v := tx.Bucket(bucketCalls).Get([]byte(key))
	if v == nil {
		return callState{}, false, nil
	}
	var st callState
	if err := json.Unmarshal(v, &st); err != nil {
		return callState{}, false, fmt.Errorf("decode call state: %w", err)
	}
	return st, true, nil
}

func putCall(tx *bolt.Tx, key string, st callState) error {
	v, err := json.Marshal(st)
	if err != nil {
		return fmt.Errorf("encode call state: %w", err)
	}
	return tx.Bucket(bucketCalls).Put([]byte(key), v)
}

func getJob(tx *bolt.Tx, id string) (job, bool, error) {
	v := tx.Bucket(bucketJobs).Get([]byte(id))
	if v == nil {
		return job{}, false, nil
	}
	var j job
	if err := json.Unmarshal(v, &j); err != nil {
		return job{}, false, fmt.Errorf("decode job: %w", err)
	}
	j.id = id
	return j, true, nil
}

// putJob stores j and its due index entry; an existing job of the same id
// must have been deleted first.
func putJob(tx *bolt.Tx, j job) error {
	v, err := json.Marshal(j)
	if err != nil {
		return fmt.Errorf("encode job: %w", err)
	}
	if err := tx.Bucket(bucketJobs).Put([]byte(j.id), v); err != nil {
		return err
	}
	return tx.Bucket(bucketDue).Put(dueKey(j.CRM, j.NextAt, j.id), nil)
}

// addJob stores j unless a job or dead letter of the same id exists.
func addJob(tx *bolt.Tx, j job) (bool, error) {
	if tx.Bucket(bucketJobs).Get([]byte(j.id)) != nil || tx.Bucket(bucketDead).Get([]byte(j.id)) != nil {
		return false, nil
	}
	return true, putJob(tx, j)
}

func deleteJob(tx *bolt.Tx, id string) error {
	j, ok, err := getJob(tx, id)
	if err != nil || !ok {
		return err
	}
	if err := tx.Bucket(bucketDue).Delete(dueKey(j.CRM, j.NextAt, id)); err != nil {
		return err
	}
	return tx.Bucket(bucketJobs).Delete([]byte(id))
}

// due returns up to limit jobs of crm whose next attempt is at or before
// now, skipping busy ids, earliest first; next is the next attempt time of
// the first job not returned (zero if none).
func (s *store) due(crm string, now time.Time, limit int, busy map[string]bool) (jobs []job, next time.Time, err error) {
	prefix := []byte(crm + "\x00")
	err = s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketDue).Cursor()
		for k, _ := c.Seek(prefix); k != nil && strings.HasPrefix(string(k), string(prefix)); k, _ = c.Next() {
			at, id := decodeDueKey(k[len(prefix):])
			if busy[id] {
				continue
			}
			if at.After(now) || len(jobs) >= limit {
				next = at
				return nil
			}
			j, ok, err := getJob(tx, id)
			if err != nil {
				return err
			}
			if !ok {
				return fmt.Errorf("due entry without job %s", id)
			}
			jobs = append(jobs, j)
		}
		return nil
	})
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("read due CRM jobs: %w", err)
	}
	return jobs, next, nil
}

// update runs fn in one read-write transaction.
func (s *store) update(op string, fn func(tx *bolt.Tx) error) error {
	if err := s.db.Update(fn); err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	return nil
}

// counts returns the number of pending jobs and dead letters per CRM.
func (s *store) counts() (pending, dead map[string]int, err error) {
	pending, dead = map[string]int{}, map[string]int{}
	err = s.db.View(func(tx *bolt.Tx) error {
		if err := tx.Bucket(bucketJobs).ForEach(func(k, _ []byte) error {
			pending[crmOf(string(k))]++
			return nil
		}); err != nil {
			return err
		}
		return tx.Bucket(bucketDead).ForEach(func(k, _ []byte) error {
			dead[crmOf(string(k))]++
			return nil
		})
	})
	if err != nil {
		return nil, nil, fmt.Errorf("count CRM jobs: %w", err)
	}
	return pending, dead, nil
}

func crmOf(id string) string {
	crm, _, _ := strings.Cut(id, "/")
	return crm
}

func dueKey(crm string, at time.Time, id string) []byte {
	b := make([]byte, 0, len(crm)+9+len(id))
	b = append(b, crm...)
	b = append(b, 0)
	b = binary.BigEndian.AppendUint64(b, uint64(max(at.UnixNano(), 0)))
	return append(b, id...)
}

func decodeDueKey(k []byte) (time.Time, string) {
	return time.Unix(0, int64(binary.BigEndian.Uint64(k[:8]))), string(k[8:])
}

// lastContact returns the start of the latest call with phone the outbox
// has seen, zero if none.
func lastContact(tx *bolt.Tx, phone string) (time.Time, error) {
	v := tx.Bucket(bucketPhones).Get([]byte(phone))
	if v == nil {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(v))
	if err != nil {
		return time.Time{}, fmt.Errorf("decode last contact: %w", err)
	}
	return t, nil
}

// noteContact records a call with phone started at, unless a later one is
// recorded already.
func noteContact(tx *bolt.Tx, phone string, at time.Time) error {
	last, err := lastContact(tx, phone)
	if err != nil || !at.After(last) {
		return err
	}
	return tx.Bucket(bucketPhones).Put([]byte(phone), []byte(at.UTC().Format(time.RFC3339Nano)))
}
