package crmsync

import (
	"encoding/json"
	"fmt"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

func buryJob(tx *bolt.Tx, d DeadLetter) error {
	if err := deleteJob(tx, d.ID); err != nil {
		return err
	}
	v, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode dead letter: %w", err)
	}
	return tx.Bucket(bucketDead).Put([]byte(d.ID), v)
}

// DeadLetters lists the CRM requests that failed permanently, by id.
func (o *Outbox) DeadLetters() ([]DeadLetter, error) { return o.store.deadLetters() }

// Retry moves a dead letter back into the outbox, due now with a fresh
// attempt count and give-up deadline. It returns ErrNotFound for an
// unknown id.
func (o *Outbox) Retry(id string) error {
	if err := o.store.retry(id, o.opts.Now()); err != nil {
		return err
	}
	o.refreshGauges()
	o.wakeAll()
	return nil
}

func (s *store) deadLetters() ([]DeadLetter, error) {
	var out []DeadLetter
	err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketDead).ForEach(func(k, v []byte) error {
			var d DeadLetter
			if err := json.Unmarshal(v, &d); err != nil {
				return fmt.Errorf("decode dead letter: %w", err)
			}
			out = append(out, d)
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("list CRM dead letters: %w", err)
	}
	return out, nil
}

func (s *store) retry(id string, now time.Time) error {
	return s.update("retry CRM dead letter", func(tx *bolt.Tx) error {
		v := tx.Bucket(bucketDead).Get([]byte(id))
		if v == nil {
			return fmt.Errorf("%w: %q", ErrNotFound, id)
		}
		var d DeadLetter
		if err := json.Unmarshal(v, &d); err != nil {
			return fmt.Errorf("decode dead letter: %w", err)
		}
		j := d.Job
		j.id = id
		j.Due, j.NextAt, j.Attempts = now, now, 0
		if j.Kind == KindRecording && j.Until.Before(now) {
			j.Until = now.Add(DefaultRecordingWait)
		}
		if err := tx.Bucket(bucketDead).Delete([]byte(id)); err != nil {
			return err
		}
		return putJob(tx, j)
	})
}

// DeadLetterStore is the dead-letter API of an outbox database opened
// without a running daemon, for `callpulse deadletter`.
type DeadLetterStore struct{ s *store }

// OpenDeadLetters opens the outbox database at path for DeadLetters and
// Retry. It fails if the daemon holds the database; a retried letter is
// pushed when the daemon next runs.
func OpenDeadLetters(path string) (*DeadLetterStore, error) {
	s, err := openStore(filepath.Clean(path), time.Second)
	if err != nil {
		return nil, err
	}
	return &DeadLetterStore{s: s}, nil
}

// DeadLetters lists the dead letters.
func (d *DeadLetterStore) DeadLetters() ([]DeadLetter, error) { return d.s.deadLetters() }

// Retry moves a dead letter back into the outbox, due now.
func (d *DeadLetterStore) Retry(id string) error { return d.s.retry(id, time.Now()) }

// Close closes the database.
func (d *DeadLetterStore) Close() error { return d.s.close() }
