package invocation

import (
	"encoding/json"
	"testing"
	"time"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// BenchmarkPollStep is the pure work of one poll execute: plan the step,
// then apply a POLL answer carrying storage and outputs. make bench shows
// it is noise next to the status write each execute makes.
func BenchmarkPollStep(b *testing.B) {
	inv := invocation(bkv1.StatePoll, func(inv *bkv1.PluginInvocation) {
		inv.Status.InvokeCount = 3
		inv.Status.NextPollTime = at(time.Second)
		inv.Status.Storage = js(`{"counter":3}`)
		inv.Status.Outputs = js(`{"polls_done":3}`)
	})
	answer := &protocol.ExecuteResponse{
		State: protocol.StatePoll, PollIntervalSeconds: 1,
		Outputs: json.RawMessage(`{"polls_done":4}`), Storage: json.RawMessage(`{"counter":4}`),
	}
	now := t0.Add(2 * time.Second)
	limits := transitionLimits{maxStatusBytes: DefaultMaxStatusBytes}
	b.ReportAllocs()
	for b.Loop() {
		s := planStep(inv, nil, now)
		if s.kind != stepExecute {
			b.Fatalf("step %v, want execute", s.kind)
		}
		t := applyAnswer(inv, answer, s.callback, nil, now, limits)
		if t.status.State != bkv1.StatePoll {
			b.Fatalf("state %s, want POLL", t.status.State)
		}
	}
}
