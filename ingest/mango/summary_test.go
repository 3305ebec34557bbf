package mango

import (
	"testing"

	"github.com/callpulse/callpulse/call"
)

func TestOutboundStatus(t *testing.T) {
	tests := []struct {
		reason int64
		want   call.Status
	}{
		{0, call.StatusCancelled},
		{1100, call.StatusCancelled},
		{1110, call.StatusCancelled},
		{1111, call.StatusCancelled},
		{1120, call.StatusCancelled},
		{1121, call.StatusBusy},
		{1122, call.StatusBusy},
		{1123, call.StatusBusy},
		{1130, call.StatusFailed},
		{1134, call.StatusFailed},
		{1140, call.StatusFailed},
		{1151, call.StatusFailed},
		{1163, call.StatusCancelled},
		{1170, call.StatusFailed},
		{1181, call.StatusCancelled},
		{1191, call.StatusFailed},
		{2240, call.StatusFailed},
		{3102, call.StatusFailed},
		{5003, call.StatusFailed},
		{1999, call.StatusCancelled},
	}
	for _, tt := range tests {
		if got := outboundStatus(tt.reason); got != tt.want {
			t.Errorf("outboundStatus(%d) = %v, want %v", tt.reason, got, tt.want)
		}
	}
}
