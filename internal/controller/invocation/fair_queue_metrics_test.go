package invocation

import (
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// series reads one series of reg by name and labels: a gauge's or a
// counter's value, a histogram's sample count and sum. found is false when
// no series has those labels.
func series(t *testing.T, reg prometheus.Gatherer, name string, labels map[string]string) (value, sum float64, found bool) {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatalf("gather: %v", err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			got := map[string]string{}
			for _, l := range m.GetLabel() {
				got[l.GetName()] = l.GetValue()
			}
			for k, v := range labels {
				if got[k] != v {
					continue next
				}
			}
			switch mf.GetType() {
			case dto.MetricType_GAUGE:
				return m.GetGauge().GetValue(), 0, true
			case dto.MetricType_COUNTER:
				return m.GetCounter().GetValue(), 0, true
			case dto.MetricType_HISTOGRAM:
				return float64(m.GetHistogram().GetSampleCount()), m.GetHistogram().GetSampleSum(), true
			}
		}
	}
	return 0, 0, false
}

// metricsQueue is a fair queue called name whose metrics go to reg, timed
// by a fake clock; the unfinished-work updates are left to the test.
func metricsQueue(t *testing.T, reg prometheus.Registerer, name string) (*fairQueue, *clocktesting.FakeClock) {
	t.Helper()
	m, err := NewMetrics(reg)
	if err != nil {
		t.Fatalf("NewMetrics: %v", err)
	}
	clk := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := newFairQueue(fairQueueOptions{
		GroupOf: func(r reconcile.Request) string { return r.Namespace + "/" + byPrefix(r) }, MaxPerGroup: 4,
		// Delays far beyond the test: a delayed add never lands in it.
		Limiter: workqueue.NewTypedItemExponentialFailureRateLimiter[reconcile.Request](time.Hour, time.Hour),
		Metrics: newQueueMetrics(m.workqueue.provider(), m.queueDepth, m.queueWorkers, name, clk),
		// A ticker that never fires on its own: the test steps the clock.
		UnfinishedPeriod: time.Hour, Clock: clk,
	})
	t.Cleanup(q.ShutDown)
	return q, clk
}

// TestFairQueueMetricsMove drives a fair queue and reads its metrics from a
// real registry after each step.
func TestFairQueueMetricsMove(t *testing.T) {
	reg := prometheus.NewRegistry()
	q, clk := metricsQueue(t, reg, "plugininvocation")
	ctl := map[string]string{"controller": "plugininvocation", "name": "plugininvocation"}
	expect := func(name string, labels map[string]string, want float64) {
		t.Helper()
		got, _, ok := series(t, reg, name, labels)
		if !ok || got != want {
			t.Errorf("%s%v = %v (present %v), want %v", name, labels, got, ok, want)
		}
	}
	flood := map[string]string{"namespace": "ns", "plugin": "flood"}
	hello := map[string]string{"namespace": "ns", "plugin": "hello"}

	q.Add(req("flood-1"))
	q.Add(req("flood-2"))
	q.Add(req("hello-1"))
	q.Add(req("hello-1")) // queued already: not an add
	expect("workqueue_depth", ctl, 3)
	expect("workqueue_adds_total", ctl, 3)
	expect("bkplugin_invocation_queue_depth", flood, 2)
	expect("bkplugin_invocation_queue_depth", hello, 1)

	clk.Step(2 * time.Second)
	a, _ := q.Get() // flood-1
	b, _ := q.Get() // hello-1, round robin
	if a.Name != "flood-1" || b.Name != "hello-1" {
		t.Fatalf("got %s, %s; want flood-1, hello-1", a.Name, b.Name)
	}
	expect("workqueue_depth", ctl, 1)
	expect("bkplugin_invocation_queue_depth", flood, 1)
	if _, _, ok := series(t, reg, "bkplugin_invocation_queue_depth", hello); ok {
		t.Error("hello's queue is empty: its depth series should be gone")
	}
	expect("bkplugin_invocation_queue_workers", flood, 1)
	expect("bkplugin_invocation_queue_workers", hello, 1)
	if n, sum, _ := series(t, reg, "workqueue_queue_duration_seconds", ctl); n != 2 || sum != 4 {
		t.Errorf("queue duration: %v observations summing %vs, want 2 of 2s", n, sum)
	}

	clk.Step(3 * time.Second)
	q.mu.Lock()
	q.metrics.updateUnfinished()
	q.mu.Unlock()
	expect("workqueue_unfinished_work_seconds", ctl, 6)
	expect("workqueue_longest_running_processor_seconds", ctl, 3)

	q.Done(a)
	if n, sum, _ := series(t, reg, "workqueue_work_duration_seconds", ctl); n != 1 || sum != 3 {
		t.Errorf("work duration: %v observations summing %vs, want 1 of 3s", n, sum)
	}
	q.AddAfter(req("flood-1"), time.Hour)
	q.AddRateLimited(req("flood-3"))
	expect("workqueue_retries_total", ctl, 2)

	q.Done(b)
	if _, _, ok := series(t, reg, "bkplugin_invocation_queue_workers", hello); ok {
		t.Error("hello holds no worker: its workers series should be gone")
	}
	c, _ := q.Get()
	expect("bkplugin_invocation_queue_workers", flood, 1)
	q.Done(c)
	expect("workqueue_depth", ctl, 0)
	if _, _, ok := series(t, reg, "bkplugin_invocation_queue_depth", flood); ok {
		t.Error("the flood's queue is empty: its depth series should be gone")
	}
}

// TestFairQueueMetricsDirtyWhileProcessing: an item added again while it is
// processed counts as an add and in the depth, as in client-go's queue, and
// is handed out again once done.
func TestFairQueueMetricsDirtyWhileProcessing(t *testing.T) {
	reg := prometheus.NewRegistry()
	q, _ := metricsQueue(t, reg, "plugininvocation")
	ctl := map[string]string{"controller": "plugininvocation"}
	q.Add(req("a-1"))
	item, _ := q.Get()
	q.Add(item)
	if d, _, _ := series(t, reg, "workqueue_depth", ctl); d != 1 {
		t.Errorf("depth with the item added again while processed = %v, want 1", d)
	}
	q.Done(item)
	again, _ := q.Get()
	if again != item {
		t.Fatalf("got %v, want %v again", again, item)
	}
	if d, _, _ := series(t, reg, "workqueue_depth", ctl); d != 0 {
		t.Errorf("depth after the second hand-out = %v, want 0", d)
	}
	if n, _, _ := series(t, reg, "workqueue_adds_total", ctl); n != 2 {
		t.Errorf("adds = %v, want 2", n)
	}
}

// TestWorkqueueMetricsFoundInControllerRuntime: in the manager the fair
// queue writes to the vectors controller-runtime registered in its
// metrics.Registry, the registry /metrics serves. If an upgrade of
// controller-runtime changes their description, the lookup fails here
// rather than the manager exporting nothing.
func TestWorkqueueMetricsFoundInControllerRuntime(t *testing.T) {
	v, err := workqueueMetricsIn(ctrlmetrics.Registry)
	if err != nil {
		t.Fatalf("controller-runtime's workqueue metrics were not found: %v", err)
	}
	// A name of this test's own, so that other tests' queues do not count.
	const name = "fairqueue-metrics-test"
	clk := clocktesting.NewFakeClock(time.Now())
	q := newFairQueue(fairQueueOptions{
		GroupOf: byPrefix, MaxPerGroup: 1, Limiter: workqueue.DefaultTypedControllerRateLimiter[reconcile.Request](),
		Metrics: newQueueMetrics(v.provider(), nil, nil, name, clk), UnfinishedPeriod: time.Hour, Clock: clk,
	})
	defer q.ShutDown()
	q.Add(req("a-1"))
	q.Add(req("b-1"))
	q.AddAfter(req("c-1"), time.Hour)
	ctl := map[string]string{"controller": name, "name": name}
	if d, _, ok := series(t, ctrlmetrics.Registry, "workqueue_depth", ctl); !ok || d != 2 {
		t.Errorf("controller-runtime's workqueue_depth for %s = %v (present %v), want 2", name, d, ok)
	}
	if n, _, ok := series(t, ctrlmetrics.Registry, "workqueue_adds_total", ctl); !ok || n != 2 {
		t.Errorf("controller-runtime's workqueue_adds_total for %s = %v (present %v), want 2", name, n, ok)
	}
	item, _ := q.Get()
	q.mu.Lock()
	q.metrics.updateUnfinished()
	q.mu.Unlock()
	q.Done(item)
	if n, _, ok := series(t, ctrlmetrics.Registry, "workqueue_work_duration_seconds", ctl); !ok || n != 1 {
		t.Errorf("controller-runtime's workqueue_work_duration_seconds for %s has %v observations (present %v), want 1", name, n, ok)
	}
	// Each name is registered once: the registry's own gather would fail
	// on a second collector of the same series.
	mfs, err := ctrlmetrics.Registry.Gather()
	if err != nil {
		t.Fatalf("gather controller-runtime's registry: %v", err)
	}
	seen := map[string]int{}
	for _, mf := range mfs {
		if strings.HasPrefix(mf.GetName(), "workqueue_") {
			seen[mf.GetName()]++
		}
	}
	for _, n := range []string{"workqueue_depth", "workqueue_adds_total", "workqueue_queue_duration_seconds", "workqueue_work_duration_seconds",
		"workqueue_retries_total", "workqueue_unfinished_work_seconds", "workqueue_longest_running_processor_seconds"} {
		if seen[n] != 1 {
			t.Errorf("%s appears %d times in controller-runtime's registry, want once", n, seen[n])
		}
	}
}
