package invocation

import (
	"context"
	"errors"
	"fmt"
	"syscall"
	"testing"
)

func TestNeedsReprobe(t *testing.T) {
	refused := &callError{Endpoint: "http://pod/bk_plugin/execute/1.0.0", Cause: syscall.ECONNREFUSED, Retryable: true, Unanswered: true}
	answered5xx := &callError{Endpoint: "http://pod/", Cause: errors.New("HTTP 503: busy"), Retryable: true}
	protocolErr := &callError{Endpoint: "http://pod/", Cause: errors.New("answer breaks the plugin pod protocol")}
	cases := []struct {
		name             string
		err              error
		ready, cancelled bool
		want             bool
	}{
		{"refused, version Ready", refused, true, false, true},
		{"refused, wrapped (scrubbed)", fmt.Errorf("scrubbed: %w", refused), true, false, true},
		{"refused, version already not Ready", refused, false, false, false},
		{"refused while the manager stops", refused, true, true, false},
		{"the pod answered 503", answered5xx, true, false, false},
		{"the pod broke the protocol", protocolErr, true, false, false},
		{"not a call error", context.DeadlineExceeded, true, false, false},
		{"no error", nil, true, false, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := needsReprobe(tc.err, tc.ready, tc.cancelled); got != tc.want {
				t.Fatalf("needsReprobe = %v, want %v", got, tc.want)
			}
		})
	}
}
