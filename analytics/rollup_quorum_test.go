package analytics

import (
	"errors"
	"fmt"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"
)

// TestQuorumBusy checks which refresh failures Run reports as giving way
// to another refresher (logged at info, not as a failure).
func TestQuorumBusy(t *testing.T) {
	for _, tt := range []struct {
		name string
		err  error
		want bool
	}{
		{"another quorum insert in flight, wrapped", fmt.Errorf("record the facts of refresh: %w",
			&clickhouse.Exception{Code: 286, Message: "Another quorum insert has been already started"}), true},
		{"previous quorum not satisfied", &clickhouse.Exception{Code: 286,
			Message: "Quorum for previous write has not been satisfied yet"}, true},
		{"quorum timeout", &clickhouse.Exception{Code: 319, Message: "Timeout while waiting for quorum"}, false},
		{"replicas down", fmt.Errorf("refresh the rollups: %w (1 of 2)", ErrReplicasInactive), false},
		{"not a ClickHouse error", errors.New("connection refused"), false},
		{"none", nil, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := quorumBusy(tt.err); got != tt.want {
				t.Errorf("quorumBusy(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}
