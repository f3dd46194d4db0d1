package pollerplugin_test

import (
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugintest"
)

func TestPoller(t *testing.T) {
	tests := []struct {
		name      string
		inputs    map[string]any
		state     plugin.State
		executes  int
		pollsDone int
		err       string
		elapsed   time.Duration
	}{
		{"defaults: 3 polls 1s apart", map[string]any{}, plugin.StateSuccess, 4, 3, "", 3 * time.Second},
		{"no polls succeeds at once", map[string]any{"polls": 0}, plugin.StateSuccess, 1, 0, "", 0},
		{"interval", map[string]any{"polls": 2, "interval": 30}, plugin.StateSuccess, 3, 2, "", time.Minute},
		{"zero interval", map[string]any{"polls": 5, "interval": 0}, plugin.StateSuccess, 6, 5, "", 0},
		{"fail_at", map[string]any{"polls": 5, "fail_at": 2}, plugin.StateFail, 3, 2, "failed at poll 2", 2 * time.Second},
		{"fail_at 0 fails the first execute", map[string]any{"fail_at": 0}, plugin.StateFail, 1, 0, "failed at poll 0", 0},
		{"fail_at beyond polls never fails", map[string]any{"polls": 1, "fail_at": 9}, plugin.StateSuccess, 2, 1, "", time.Second},
		{"fail_at equal to polls fails", map[string]any{"polls": 2, "fail_at": 2}, plugin.StateFail, 3, 2, "failed at poll 2", 2 * time.Second},
		{"negative polls", map[string]any{"polls": -1, "interval": -2}, plugin.StateFail, 1, 0,
			"inputs validation error: interval: must be >= 0; polls: must be >= 0", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := plugintest.New(t, pollerplugin.Plugin(), plugintest.Options{})
			start := h.Clock().Now()
			inv := h.Start("1.0.0", tt.inputs, nil)
			if got := inv.Run(); got != tt.state {
				t.Fatalf("Run = %s, want %s (error %q)", got, tt.state, inv.Err())
			}
			if inv.InvokeCount() != tt.executes {
				t.Errorf("executes = %d, want %d", inv.InvokeCount(), tt.executes)
			}
			if tt.err != "" {
				if inv.Err() != tt.err {
					t.Errorf("error = %q, want %q", inv.Err(), tt.err)
				}
				if tt.executes > 1 {
					inv.AssertOutputs(pollerplugin.Outputs{PollsDone: tt.pollsDone})
				}
			} else {
				inv.AssertOutputs(pollerplugin.Outputs{PollsDone: tt.pollsDone})
				inv.AssertStorage("counter", tt.pollsDone)
			}
			if got := h.Clock().Now().Sub(start); got != tt.elapsed {
				t.Errorf("fake time elapsed = %s, want %s", got, tt.elapsed)
			}
		})
	}
}

// Each execute but the last waits in POLL with the input interval.
func TestPollerStates(t *testing.T) {
	h := plugintest.New(t, pollerplugin.Plugin(), plugintest.Options{})
	inv := h.Start("1.0.0", map[string]any{"polls": 2, "interval": 5}, nil)
	inv.Run()
	steps := inv.Steps()
	wantStates := []plugin.State{plugin.StatePoll, plugin.StatePoll, plugin.StateSuccess}
	wantSeen := []plugin.State{plugin.StateEmpty, plugin.StatePoll, plugin.StatePoll}
	if len(steps) != len(wantStates) {
		t.Fatalf("%d executes, want %d", len(steps), len(wantStates))
	}
	for i, s := range steps {
		if s.Request.State != wantSeen[i] || s.Response.State != wantStates[i] {
			t.Errorf("execute %d: %s -> %s, want %s -> %s", i+1, s.Request.State, s.Response.State, wantSeen[i], wantStates[i])
		}
		if s.Response.State == plugin.StatePoll && s.Response.PollIntervalSeconds != 5 {
			t.Errorf("execute %d: poll interval %vs, want 5s", i+1, s.Response.PollIntervalSeconds)
		}
	}
}
