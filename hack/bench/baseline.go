package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// baselineNamespace holds the baseline's objects; the manager watches only
// benchNamespace, so nothing reconciles them.
const baselineNamespace = "bench-baseline"

// baseline measures what the API server sustains on its own for objects
// of an invocation's size: create + status update pairs/s, then single
// status updates/s on the objects the first part created. It runs before
// the invoke and schedule phases and again after them, and the figures are
// the mean of both, so that load from outside the run weighs on both sides
// of a ratio alike.
func (b *bench) baseline(ctx context.Context, r *results) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: baselineNamespace}}
	if err := b.kube.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", baselineNamespace, err)
	}
	conc := b.cfg.concurrency
	// Each worker keeps its newest object for the update part.
	last := make([]*bkv1.PluginInvocation, conc)
	// The latency of a pair is the least an invoke, which makes the same
	// two writes one after the other, can take at the same concurrency.
	var mu sync.Mutex
	var lat []time.Duration
	// What a pair costs the API server and etcd, the floor of what an
	// invoke that makes the same writes can cost them.
	apiBefore, cpuErr := b.st.cpuTimes(apiProcesses)
	var made atomic.Int64
	pairs, err := b.timed(ctx, "baseline create+status-update pairs", b.cfg.baselineDuration, conc, func(ctx context.Context, w int) error {
		start := time.Now()
		inv := newInvocation(baselineNamespace, "hello", "1.0.0", `{"name":"world"}`)
		if err := b.kube.Create(ctx, inv); err != nil {
			return fmt.Errorf("create: %w", err)
		}
		inv.Status = invocationStatus(inv.Name, 1)
		if err := b.kube.Status().Update(ctx, inv); err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		last[w] = inv
		made.Add(1)
		mu.Lock()
		lat = append(lat, time.Since(start))
		mu.Unlock()
		return nil
	})
	if err != nil {
		return err
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	if apiAfter, err := b.st.cpuTimes(apiProcesses); err == nil && cpuErr == nil {
		r.pairCPUSum += apiAfter.minus(apiBefore).perCallMs(int(made.Load()))
		r.pairCPURuns++
		r.BaselinePairAPICPUMs = r.pairCPUSum / float64(r.pairCPURuns)
	}
	r.baselineRuns++
	r.pairsSum += pairs
	r.BaselinePairsPerS = r.pairsSum / float64(r.baselineRuns)
	if r.baselineRuns == 1 {
		r.BaselinePairP50Ms, r.BaselinePairP99Ms = ms(percentile(lat, 0.50)), ms(percentile(lat, 0.99))
	}
	updates, err := b.timed(ctx, "baseline status updates", b.cfg.baselineDuration, conc, func(ctx context.Context, w int) error {
		inv := last[w]
		inv.Status = invocationStatus(inv.Name, inv.Status.InvokeCount+1)
		if err := b.kube.Status().Update(ctx, inv); err != nil {
			return fmt.Errorf("update status: %w", err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	r.updatesSum += updates
	r.BaselineUpdatesPerS = r.updatesSum / float64(r.baselineRuns)
	progress("baseline: %.0f pairs/s (p50 %.1f ms, p99 %.1f ms), %.0f status updates/s", pairs, r.BaselinePairP50Ms, r.BaselinePairP99Ms, updates)
	return nil
}

// apiProcesses are the API server and its store, whose CPU per write the
// baseline measures.
var apiProcesses = []string{"kube-apiserver", "etcd"}

// invocationStatus is a status of the size the manager writes for a hello
// invocation: state, outputs, storage, times and the Succeeded condition.
func invocationStatus(traceID string, count int32) bkv1.PluginInvocationStatus {
	now := metav1.Now()
	return bkv1.PluginInvocationStatus{
		ObservedGeneration: 1,
		State:              bkv1.StatePoll,
		TraceID:            traceID,
		ResolvedVersion:    "1.0.0",
		InvokeCount:        count,
		Outputs:            &apiextensionsv1.JSON{Raw: []byte(fmt.Sprintf(`{"greeting":"Hello, world!","polls_done":%d}`, count))},
		Storage:            &apiextensionsv1.JSON{Raw: []byte(fmt.Sprintf(`{"counter":%d}`, count))},
		NextPollTime:       &now,
		StartTime:          &now,
		Conditions: []metav1.Condition{{
			Type: "Succeeded", Status: metav1.ConditionUnknown, Reason: "Running",
			Message: fmt.Sprintf("execute %d: polling again", count), LastTransitionTime: now, ObservedGeneration: 1,
		}},
	}
}

// timed runs fn on conc workers (fn gets the worker's index) for d and
// returns completed calls per second.
func (b *bench) timed(ctx context.Context, what string, d time.Duration, conc int, fn func(ctx context.Context, w int) error) (float64, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var done atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	start := time.Now()
	deadline := start.Add(d)
	stop := ticker(func() {
		progress("%s: %d (%.0f/s)", what, done.Load(), float64(done.Load())/time.Since(start).Seconds())
	})
	defer stop()
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if err := fn(ctx, w); err != nil {
					once.Do(func() { firstErr = fmt.Errorf("%s: %w", what, err); cancel() })
					return
				}
				done.Add(1)
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, firstErr
	}
	return float64(done.Load()) / time.Since(start).Seconds(), nil
}
