package main

import (
	"context"
	"fmt"
	"time"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// executesMetric counts executes, by plugin and outcome.
const executesMetric = "bkplugin_execute_duration_seconds_count"

// schedule measures how many poll executes per second the manager makes
// with many pollers due at once: pollers with interval 0 are always due,
// so every reconcile is an execute and a status write.
func (b *bench) schedule(ctx context.Context, r *results) error {
	inputs := `{"polls":1000000000,"interval":0}`
	if err := b.createInvocations(ctx, "create pollers (interval 0)", b.cfg.pollers, func(int) *bkv1.PluginInvocation {
		return newInvocation(benchNamespace, "poller", "1.0.0", inputs)
	}); err != nil {
		return err
	}
	// Let every poller reach its first execute before counting.
	time.Sleep(3 * time.Second)
	before, err := b.st.scrape(ctx)
	if err != nil {
		return err
	}
	profiled := b.st.profileCPU(ctx, b.cfg.pprofDir, "schedule", min(b.cfg.scheduleWindow, 10*time.Second))
	start := time.Now()
	stop := ticker(func() {
		if s, err := b.st.scrape(ctx); err == nil {
			d := s.sum(executesMetric, `plugin="poller"`) - before.sum(executesMetric, `plugin="poller"`)
			progress("poll executes: %.0f (%.0f/s)", d, d/time.Since(start).Seconds())
		}
	})
	select {
	case <-ctx.Done():
		stop()
		return ctx.Err()
	case <-time.After(b.cfg.scheduleWindow):
	}
	stop()
	after, err := b.st.scrape(ctx)
	if err != nil {
		return err
	}
	wall := time.Since(start)
	<-profiled
	executes := after.sum(executesMetric, `plugin="poller"`) - before.sum(executesMetric, `plugin="poller"`)
	errs := after.sum(executesMetric, `plugin="poller"`, `outcome="error"`) - before.sum(executesMetric, `plugin="poller"`, `outcome="error"`)
	if errs > 0 {
		return fmt.Errorf("%.0f of %.0f poll executes failed to reach the poller", errs, executes)
	}
	r.SchedulePerS = executes / wall.Seconds()
	progress("schedule: %.0f poll executes in %s with %d pollers: %.0f/s", executes, wall.Round(time.Millisecond), b.cfg.pollers, r.SchedulePerS)
	return b.deleteInvocations(ctx, "poller")
}
