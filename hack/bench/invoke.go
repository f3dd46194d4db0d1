package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	shimclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// invoke measures synchronous invokes of hello 1.0.0 through the shim, the
// way `hey -c 50 -n 1000` measured the Python framework: each answers after
// the first (and only) execute, SUCCESS.
func (b *bench) invoke(ctx context.Context, r *results) error {
	one := func(ctx context.Context) (time.Duration, error) {
		start := time.Now()
		res, err := b.shim.Invoke(ctx, "hello", "1.0.0",
			stdapi.InvokeRequest{Inputs: []byte(`{"name":"world"}`), Context: []byte(`{}`)}, shimclient.InvokeOptions{})
		if err != nil {
			return 0, err
		}
		if res.State != protocol.StateSuccess {
			return 0, fmt.Errorf("invoke %s answered state %v (%s), want SUCCESS", res.TraceID, res.State, res.Err)
		}
		return time.Since(start), nil
	}
	// A few invokes first, so that connections exist; they are not counted.
	warm := min(b.cfg.concurrency, b.cfg.invokes)
	if err := parallel(ctx, "invoke warm-up", warm, b.cfg.concurrency, func(ctx context.Context, _ int) error {
		_, err := one(ctx)
		return err
	}); err != nil {
		return err
	}
	n := b.cfg.invokes
	lat := make([]time.Duration, n)
	var mu sync.Mutex
	profiled := b.st.profileCPU(ctx, b.cfg.pprofDir, "invoke", 5*time.Second)
	start := time.Now()
	err := parallel(ctx, "invokes of hello", n, b.cfg.concurrency, func(ctx context.Context, i int) error {
		d, err := one(ctx)
		mu.Lock()
		lat[i] = d
		mu.Unlock()
		return err
	})
	wall := time.Since(start)
	if err != nil {
		return err
	}
	<-profiled
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	r.InvokePerS = float64(n) / wall.Seconds()
	r.InvokeP50Ms = ms(percentile(lat, 0.50))
	r.InvokeP95Ms = ms(percentile(lat, 0.95))
	r.InvokeP99Ms = ms(percentile(lat, 0.99))
	progress("invoke: %d in %s: %.0f/s, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms",
		n, wall.Round(time.Millisecond), r.InvokePerS, r.InvokeP50Ms, r.InvokeP95Ms, r.InvokeP99Ms)
	return nil
}

// percentile of sorted durations, nearest rank.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
