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
	for _, want := range []string{"path is required", "catalog is required", "recording URL", "settle"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to mention %q", err, want)
		}
	}
}

func TestOutboxWithoutTargetsOnlyKeepsWatermarks(t *testing.T) {
	ob, err := crmsync.New(crmsync.Options{Path: t.TempDir() + "/outbox.db", Catalog: &catalog{has: map[string]bool{}},
		RecordingURL: recordingURL})
	if err != nil {
		t.Fatalf("New without targets: %v", err)
	}
	defer ob.Close()
	if ob.Pushes() {
		t.Error("Pushes() = true without targets")
	}
	at := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
	if err := ob.SetWatermark("bitrix24", at); err != nil {
		t.Fatal(err)
	}
	if got, err := ob.Watermark("bitrix24"); err != nil || !got.Equal(at) {
		t.Errorf("Watermark = %v, %v; want %v", got, err, at)
	}
}
