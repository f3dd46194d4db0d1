package main

import (
	"context"
	"fmt"
	"math"
	"time"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

const (
	transitionsMetric = "bkplugin_invocation_transitions_total"
	latenessMetric    = "bkplugin_poll_lateness_seconds"
	// heapMetric is the Go runtime's heap in use, which controller-runtime
	// exports: RSS keeps what the runtime has not returned to the system.
	heapMetric = "go_memstats_heap_inuse_bytes"
)

// lateness measures how late polls run with many pollers: lateness-pollers
// poller invocations with lateness-interval between polls, recorded by the
// manager's bkplugin_poll_lateness_seconds histogram once all are polling.
//
// The polls due per second are --lateness-fraction (0.3) of the
// baseline's status updates/s, each poll being one status update: a fixed
// number of pollers offered a machine 2.5x slower three quarters of its
// capacity, and measured the machine.
func (b *bench) lateness(ctx context.Context, r *results) error {
	interval := int(b.cfg.latenessInterval.Seconds())
	n := b.cfg.latenessPollers
	load := sized{perS: float64(n) / float64(interval)}
	if n == 0 {
		var err error
		if load, err = sizeRate("lateness", 0, b.cfg.latenessFraction, r.BaselineUpdatesPerS); err != nil {
			return err
		}
		n = pollersFor(load.perS, b.cfg.latenessInterval)
	}
	r.LatenessLoad = load.describe("status updates/s")
	progress("lateness: %d pollers every %ds: %.0f executes/s due (%s)", n, interval, float64(n)/float64(interval), r.LatenessLoad)
	start, err := b.st.scrape(ctx)
	if err != nil {
		return err
	}
	inputs := fmt.Sprintf(`{"polls":1000000,"interval":%d}`, interval)
	// The pollers are created evenly over one interval, so that their polls
	// fall due evenly, n/interval a second, as independent pollers' do;
	// created as fast as possible they would all fall due in the few
	// seconds their creation took, at a rate no interval changes.
	t0 := time.Now()
	spacing := b.cfg.latenessInterval / time.Duration(n)
	if err := parallel(ctx, "create pollers, evenly over one interval", n, b.cfg.concurrency, func(ctx context.Context, i int) error {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Until(t0.Add(time.Duration(i) * spacing))):
		}
		inv := newInvocation(benchNamespace, "poller", "1.0.0", inputs)
		if err := b.kube.Create(ctx, inv); err != nil {
			return fmt.Errorf("create invocation %s: %w", inv.Name, err)
		}
		return nil
	}); err != nil {
		return err
	}
	if err := b.waitTransitions(ctx, start, n, `plugin="poller"`, `state="POLL"`); err != nil {
		return err
	}
	before, err := b.st.scrape(ctx)
	if err != nil {
		return err
	}
	t1 := time.Now()
	stop := ticker(func() {
		if s, err := b.st.scrape(ctx); err == nil {
			if p99, count, _ := histogramQuantile(before, s, latenessMetric, 0.99); count > 0 {
				progress("poll lateness: %.0f polls, p99 %.0f ms (%s of %s)", count, p99*1000, time.Since(t1).Round(time.Second), b.cfg.latenessWindow)
			}
		}
	})
	select {
	case <-ctx.Done():
		stop()
		return ctx.Err()
	case <-time.After(b.cfg.latenessWindow):
	}
	stop()
	after, err := b.st.scrape(ctx)
	if err != nil {
		return err
	}
	p99, count, over := histogramQuantile(before, after, latenessMetric, 0.99)
	p50, _, _ := histogramQuantile(before, after, latenessMetric, 0.50)
	if math.IsNaN(p99) {
		return fmt.Errorf("no poll was executed in %s", b.cfg.latenessWindow)
	}
	r.LatenessPollers, r.LatenessIntervalS = n, interval
	r.PollLatenessP50Ms, r.PollLatenessP99Ms, r.PollLatenessOver = p50*1000, p99*1000, over
	progress("lateness: %.0f polls in %s: p50 %.0f ms, p99 %.0f ms", count, b.cfg.latenessWindow, r.PollLatenessP50Ms, r.PollLatenessP99Ms)
	return b.deleteInvocations(ctx, "poller")
}

// waitTransitions waits until the transitions matching match have grown by
// n since start.
func (b *bench) waitTransitions(ctx context.Context, start sample, n int, match ...string) error {
	t0 := time.Now()
	last, lastChange := -1.0, time.Now()
	for {
		s, err := b.st.scrape(ctx)
		if err != nil {
			return err
		}
		got := s.sum(transitionsMetric, match...) - start.sum(transitionsMetric, match...)
		if got >= float64(n) {
			progress("%d invocations reached %v in %s", n, match, time.Since(t0).Round(time.Second))
			return nil
		}
		if time.Since(t0) > 5*time.Second && int(time.Since(t0).Seconds())%6 < 2 {
			progress("%.0f of %d invocations reached %v", got, n, match)
		}
		if got != last {
			last, lastChange = got, time.Now()
		} else if time.Since(lastChange) > 2*time.Minute {
			return fmt.Errorf("only %.0f of %d invocations reached %v, none more in 2m", got, n, match)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// scale fills the manager with waiting invocations, half waiting for a
// callback and half polling with an hour's interval, and measures the
// manager's RSS per waiting invocation at each total of --waiting.
func (b *bench) scale(ctx context.Context, r *results) error {
	base, err := rssBytes(b.st.managerPID)
	if err != nil {
		return err
	}
	start, err := b.st.scrape(ctx)
	if err != nil {
		return err
	}
	heapBase := start.sum(heapMetric)
	progress("scale: manager RSS %.1f MiB, heap in use %.1f MiB before", float64(base)/(1<<20), heapBase/(1<<20))
	made := 0
	for _, total := range b.cfg.waiting {
		add := total - made
		callbacks := add / 2
		if err := b.createInvocations(ctx, fmt.Sprintf("create waiting invocations toward %d", total), add, func(i int) *bkv1.PluginInvocation {
			if i < callbacks {
				return newInvocation(benchNamespace, "callbacker", "1.0.0", `{}`)
			}
			return newInvocation(benchNamespace, "poller", "1.0.0", `{"polls":1000,"interval":3600}`)
		}); err != nil {
			return err
		}
		made = total
		cbs := made / 2
		if err := b.waitTransitions(ctx, start, cbs, `plugin="callbacker"`, `state="CALLBACK"`); err != nil {
			return err
		}
		if err := b.waitTransitions(ctx, start, made-cbs, `plugin="poller"`, `state="POLL"`); err != nil {
			return err
		}
		time.Sleep(5 * time.Second)
		rss, err := rssBytes(b.st.managerPID)
		if err != nil {
			return err
		}
		s, err := b.st.scrape(ctx)
		if err != nil {
			return err
		}
		per := float64(rss-base) / float64(total)
		heapPer := (s.sum(heapMetric) - heapBase) / float64(total)
		r.Scale = append(r.Scale, scalePoint{Waiting: total, RSSBytes: rss, BytesPerWaiting: per, HeapBytesPerWaiting: heapPer})
		progress("scale: %d waiting: manager RSS %.1f MiB, %.0f bytes per waiting invocation (heap in use %.0f)", total, float64(rss)/(1<<20), per, heapPer)
	}
	b.st.saveProfile(ctx, b.cfg.pprofDir, "manager", "/debug/pprof/heap", "scale-manager.heap.pprof")
	b.st.saveProfile(ctx, b.cfg.pprofDir, "shim", "/debug/pprof/heap", "scale-shim.heap.pprof")
	return nil
}
