package crmsync_test

import (
	"testing"
	"time"
)

// TestCompactKeepsCallsPushedOnce: a week after a push, the call's events
// are dropped, but a late duplicate of them still pushes nothing; a call
// whose push is a dead letter keeps its events (a retry needs them).
func TestCompactKeepsCallsPushedOnce(t *testing.T) {
	r := newRig(t)
	r.srv.KnowPhone(known)
	r.write(t, answeredCall("c1", known)...)
	r.cat.add("generic", "c1")
	r.waitUntil(t, "c1 pushed", func() bool { return len(r.srv.Calls()) == 1 && r.idle() })
	r.srv.RevokeAuth() // the next push fails permanently: a dead letter
	r.write(t, answeredCall("c2", unknown)...)
	r.waitUntil(t, "c2 dead-lettered", func() bool {
		d, err := r.ob.DeadLetters()
		return err == nil && len(d) == 1
	})

	if n, err := r.ob.Compact(7 * 24 * time.Hour); err != nil || n != 0 {
		t.Fatalf("Compact right after the pushes = %d, %v; want 0", n, err)
	}
	r.clock.mu.Lock()
	r.clock.t = r.clock.t.Add(8 * 24 * time.Hour)
	r.clock.mu.Unlock()
	if n, err := r.ob.Compact(7 * 24 * time.Hour); err != nil || n != 1 {
		t.Fatalf("Compact a week later = %d, %v; want 1 (c1; c2 is a dead letter)", n, err)
	}

	r.write(t, answeredCall("c1", known)...) // a late duplicate delivery
	if p, err := r.ob.Pending(); err != nil || p != 0 {
		t.Fatalf("pending after the duplicate = %d, %v; want 0", p, err)
	}
	if n := len(r.srv.Calls()); n != 1 {
		t.Errorf("calls in the CRM = %d, want 1", n)
	}
	if n, err := r.ob.Compact(7 * 24 * time.Hour); err != nil || n != 0 {
		t.Errorf("Compact again = %d, %v; want 0 (nothing left to drop)", n, err)
	}
}
