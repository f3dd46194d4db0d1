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

// invokeRun is one closed-loop run of synchronous invokes of hello.
type invokeRun struct {
	perS, p50Ms, p95Ms, p99Ms float64
	// cpu is what the run cost each process of the stack, by name.
	cpu cpuUse
	n   int
}

// invoke measures synchronous invokes of hello 1.0.0 through the stack's
// shim, the way `hey -c 50 -n 1000` measured the Python framework: each
// answers after the first (and only) execute, SUCCESS. With a shim that
// has --sync-invoke, the stack's shim runs the cluster path (a
// PluginInvocation per call), which is what this phase measures.
func (b *bench) invoke(ctx context.Context, r *results) error {
	run, err := b.runInvokes(ctx, b.shim, "invoke", clusterPathProcesses("shim"))
	if err != nil {
		return err
	}
	r.InvokePerS, r.InvokeP50Ms, r.InvokeP95Ms, r.InvokeP99Ms = run.perS, run.p50Ms, run.p95Ms, run.p99Ms
	r.InvokeClusterCPUMs = run.cpu.perCallMs(run.n)
	api := cpuUse{}
	for _, name := range apiProcesses {
		api[name] = run.cpu[name]
	}
	r.InvokeClusterAPICPUMs = api.perCallMs(run.n)
	progress("invoke (cluster path): %.0f/s, p50 %.1f ms, p95 %.1f ms, p99 %.1f ms, CPU %.2f ms per invoke (%s)",
		r.InvokePerS, r.InvokeP50Ms, r.InvokeP95Ms, r.InvokeP99Ms, r.InvokeClusterCPUMs, run.cpu.String(run.n))
	return nil
}

// clusterPathProcesses are the processes an invoke through shim may use.
func clusterPathProcesses(shim string) []string {
	return []string{shim, "hello", "manager", "kube-apiserver", "etcd"}
}

// runInvokes runs cfg.invokes synchronous invokes of hello through c at
// cfg.concurrency after a warm-up, and reads the CPU the named processes
// of the stack used meanwhile.
func (b *bench) runInvokes(ctx context.Context, c *shimclient.Client, phase string, processes []string) (invokeRun, error) {
	one := func(ctx context.Context) (time.Duration, error) {
		start := time.Now()
		res, err := c.Invoke(ctx, "hello", "1.0.0",
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
	if err := parallel(ctx, phase+" warm-up", warm, b.cfg.concurrency, func(ctx context.Context, _ int) error {
		_, err := one(ctx)
		return err
	}); err != nil {
		return invokeRun{}, err
	}
	n := b.cfg.invokes
	lat := make([]time.Duration, n)
	var mu sync.Mutex
	cpuBefore, err := b.st.cpuTimes(processes)
	if err != nil {
		return invokeRun{}, err
	}
	profiled := b.st.profileCPU(ctx, b.cfg.pprofDir, phase, 5*time.Second)
	start := time.Now()
	err = parallel(ctx, phase+": invokes of hello", n, b.cfg.concurrency, func(ctx context.Context, i int) error {
		d, err := one(ctx)
		mu.Lock()
		lat[i] = d
		mu.Unlock()
		return err
	})
	wall := time.Since(start)
	if err != nil {
		return invokeRun{}, err
	}
	cpuAfter, err := b.st.cpuTimes(processes)
	if err != nil {
		return invokeRun{}, err
	}
	<-profiled
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	return invokeRun{
		perS: float64(n) / wall.Seconds(), n: n,
		p50Ms: ms(percentile(lat, 0.50)), p95Ms: ms(percentile(lat, 0.95)), p99Ms: ms(percentile(lat, 0.99)),
		cpu: cpuAfter.minus(cpuBefore),
	}, nil
}

// percentile of sorted durations, nearest rank: exact, from every sample,
// so that it reaches the worst value seen.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
