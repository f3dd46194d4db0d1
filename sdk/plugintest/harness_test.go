package plugintest_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugintest"
)

// recorder is a testing.TB that records failures instead of failing, to
// test that the harness reports what it must.
type recorder struct {
	testing.TB
	failures []string
}

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}
func (r *recorder) Fatalf(format string, args ...any) { r.Errorf(format, args...) }

func forever() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "forever"})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[plugin.None, plugin.None, plugin.None]) error {
			ctx.WaitPoll(time.Minute)
			return nil
		},
	})
	return p
}

func TestHarnessReports(t *testing.T) {
	tests := []struct {
		name string
		run  func(tb testing.TB)
		want string
	}{
		{"endless polling", func(tb testing.TB) {
			plugintest.New(tb, forever(), plugintest.Options{MaxSteps: 5}).Start("1.0.0", nil, nil).Run()
		}, "still POLL after 5 executes"},
		{"unknown version", func(tb testing.TB) {
			plugintest.New(tb, forever(), plugintest.Options{}).Start("2.0.0", nil, nil)
		}, "unknown plugin version"},
		{"no callback to deliver", func(tb testing.TB) {
			p := plugin.MustNew(plugin.Meta{Code: "waits"})
			plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "1.0.0",
				Execute: func(ctx *plugin.Context[plugin.None, plugin.None, plugin.None]) error { ctx.WaitCallback(); return nil }})
			plugintest.New(tb, p, plugintest.Options{}).Start("1.0.0", nil, nil).Step()
		}, "waits for a callback and none was delivered"},
		{"wrong outputs", func(tb testing.TB) {
			plugintest.New(tb, forever(), plugintest.Options{}).Start("1.0.0", nil, nil).AssertOutputs(map[string]int{"a": 1})
		}, `outputs = {}, want {"a":1}`},
		{"wrong state", func(tb testing.TB) {
			plugintest.New(tb, forever(), plugintest.Options{}).Start("1.0.0", nil, nil).AssertState(plugin.StateSuccess)
		}, "state = POLL, want SUCCESS"},
		{"no error", func(tb testing.TB) {
			plugintest.New(tb, forever(), plugintest.Options{}).Start("1.0.0", nil, nil).AssertError("x")
		}, "want FAIL"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recorder{TB: t}
			tt.run(r)
			if len(r.failures) == 0 || !strings.Contains(strings.Join(r.failures, "\n"), tt.want) {
				t.Errorf("failures = %q, want one containing %q", r.failures, tt.want)
			}
		})
	}
}

func TestClockMovesOnlyByPolls(t *testing.T) {
	h := plugintest.New(t, forever(), plugintest.Options{Start: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)})
	inv := h.Start("1.0.0", nil, nil)
	for range 3 {
		inv.Step()
	}
	if got, want := h.Clock().Now(), time.Date(2030, 1, 1, 0, 3, 0, 0, time.UTC); !got.Equal(want) {
		t.Errorf("clock = %s, want %s", got, want)
	}
}

// The attempt a retry policy runs reaches the plugin's context, with the
// invoke count starting again at 1.
func TestStartAttemptReachesTheContext(t *testing.T) {
	type out struct {
		Attempt     int `json:"attempt"`
		InvokeCount int `json:"invoke_count"`
	}
	p := plugin.MustNew(plugin.Meta{Code: "attempts"})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, out]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[plugin.None, plugin.None, out]) error {
			ctx.Outputs = out{Attempt: ctx.Attempt, InvokeCount: ctx.InvokeCount}
			if ctx.Attempt < 2 {
				return fmt.Errorf("attempt %d fails", ctx.Attempt)
			}
			return nil
		},
	})
	h := plugintest.New(t, p, plugintest.Options{})
	first := h.Start("1.0.0", nil, nil)
	first.AssertState(plugin.StateFail)
	first.AssertOutputs(out{Attempt: 1, InvokeCount: 1})
	second := h.StartAttempt("1.0.0", 2, nil, nil)
	second.AssertState(plugin.StateSuccess)
	second.AssertOutputs(out{Attempt: 2, InvokeCount: 1})
	if got := second.Steps()[0].Request.Attempt; got != 2 {
		t.Errorf("request attempt = %d, want 2", got)
	}
}
