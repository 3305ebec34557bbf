package spool

import (
	"errors"
	"fmt"
	"syscall"
	"time"
)

var (
	// ErrFull is returned by Append when the spool is over Options.MaxBytes or
	// the disk is out of space or quota. Nothing of the failed call was
	// acknowledged; the caller should answer 503 with RetryAfter(err).
	ErrFull = errors.New("spool full")

	// ErrClosed is returned by operations on a closed Spool.
	ErrClosed = errors.New("spool closed")

	// ErrTooLarge is returned by Append for a payload over MaxRecordBytes.
	ErrTooLarge = errors.New("record too large")

	// ErrBroken is wrapped by Healthy and Append once a failed write could
	// not be rolled back: the active segment may hold unacknowledged bytes
	// and the spool refuses further writes until it is reopened (which
	// recovers the segment).
	ErrBroken = errors.New("spool broken")
)

// MaxRecordBytes is the largest payload Append accepts.
const MaxRecordBytes = 16 << 20

// FullRetryAfter is the retry-after suggested for ErrFull: long enough for a
// consumer to commit and free a segment.
const FullRetryAfter = 5 * time.Second

// retryAfterError carries a suggested retry delay alongside its cause.
type retryAfterError struct {
	err   error
	after time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.after }

// RetryAfter reports how long the caller should wait before retrying after
// err, or 0 if err carries no suggestion. It recognises any error in the
// chain with a RetryAfter() time.Duration method, so a Sink may use the same
// mechanism to slow down Consume's retries.
func RetryAfter(err error) time.Duration {
	var ra interface{ RetryAfter() time.Duration }
	if errors.As(err, &ra) {
		return ra.RetryAfter()
	}
	return 0
}

// errFull returns an ErrFull wrapping detail, with FullRetryAfter attached.
func errFull(detail error) error {
	return &retryAfterError{err: fmt.Errorf("%w: %w", ErrFull, detail), after: FullRetryAfter}
}

// classifyIO turns an I/O error that means "no space" into ErrFull.
func classifyIO(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EDQUOT) {
		return errFull(err)
	}
	return err
}

// failureReason is the reason label of callpulse_spool_append_errors_total
// for an Append error.
func failureReason(err error) string {
	switch {
	case errors.Is(err, ErrFull):
		return reasonFull
	case errors.Is(err, ErrClosed):
		return reasonClosed
	}
	return reasonIO
}
