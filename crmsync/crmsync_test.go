package crmsync_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/callpulse/callpulse/crmsync"
)

func TestStatusErrorClassifies(t *testing.T) {
	for _, tc := range []struct {
		status    int
		retryable bool
		isNil     bool
	}{
		{200, false, true}, {204, false, true}, {400, false, false}, {401, false, false}, {403, false, false},
		{404, false, false}, {408, true, false}, {429, true, false}, {500, true, false}, {503, true, false},
	} {
		e := crmsync.StatusError(tc.status, 2*time.Second, "r")
		if tc.isNil {
			if e != nil {
				t.Errorf("%d: got %v, want nil", tc.status, e)
			}
			continue
		}
		if e == nil || e.Retryable != tc.retryable || e.Status != tc.status {
			t.Errorf("%d: got %+v, want retryable=%v", tc.status, e, tc.retryable)
		}
		if e != nil && e.Retryable && e.RetryAfter != 2*time.Second {
			t.Errorf("%d: RetryAfter %v", tc.status, e.RetryAfter)
		}
	}
}

func TestClassifyFindsWrappedErrors(t *testing.T) {
	perm := &crmsync.Error{Status: 400, Reason: "bad"}
	if got := crmsync.Classify(fmt.Errorf("push: %w", perm)); got != perm {
		t.Errorf("Classify(wrapped) = %v, want the *Error", got)
	}
	if got := crmsync.Classify(errors.New("connection reset")); got == nil || !got.Retryable {
		t.Errorf("Classify(plain) = %+v, want retryable", got)
	}
	if crmsync.Classify(nil) != nil {
		t.Error("Classify(nil) != nil")
	}
}

func TestOptionsValidate(t *testing.T) {
	err := crmsync.Options{Settle: -1}.Validate()
	for _, want := range []string{"path is required", "catalog is required", "recording URL", "at least one CRM", "settle"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}
