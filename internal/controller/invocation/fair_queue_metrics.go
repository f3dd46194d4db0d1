package invocation

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
)

// This file holds the fair queue's metrics. controller-runtime's own queue
// exports workqueue_depth, workqueue_adds_total and the rest (labels name
// and controller) through client-go's workqueue.MetricsProvider; the fair
// queue replaces that queue, so it feeds the same series the same way, and
// adds a depth per plugin, which is what tells one plugin's flood from the
// others' work.
//
// controller-runtime registers those vectors in its metrics.Registry and
// keeps their provider in an internal package (v0.25), so it cannot be
// imported. workqueueMetricsIn finds the registered vectors instead: a
// collector of the same description registered again is refused with
// prometheus.AlreadyRegisteredError, which carries the collector already
// registered. Nothing is registered twice; a registry that lacks them (a
// test's) gets them registered once.

// unfinishedWorkPeriod is how often the unfinished-work gauges are set, as
// client-go's queue does.
const unfinishedWorkPeriod = 500 * time.Millisecond

// workqueueVectors are controller-runtime's workqueue metric vectors.
type workqueueVectors struct {
	depth                      *prometheus.GaugeVec
	adds, retries              *prometheus.CounterVec
	latency, workDuration      *prometheus.HistogramVec
	unfinished, longestRunning *prometheus.GaugeVec
}

// The descriptions must be controller-runtime's to the letter (name, help
// and label names), or the registry refuses them as a conflict instead of
// handing back its collectors; TestWorkqueueMetricsFoundInControllerRuntime
// fails when an upgrade changes them.
const (
	helpDepth          = "Current depth of workqueue by workqueue and priority"
	helpAdds           = "Total number of adds handled by workqueue"
	helpLatency        = "How long in seconds an item stays in workqueue before being requested"
	helpWorkDuration   = "How long in seconds processing an item from workqueue takes."
	helpUnfinished     = "How many seconds of work has been done that is in progress and hasn't been observed by work_duration. Large values indicate stuck threads. One can deduce the number of stuck threads by observing the rate at which this increases."
	helpLongestRunning = "How many seconds has the longest running processor for workqueue been running."
	helpRetries        = "Total number of items added to the workqueue with a non-zero delay (rate-limited requeues, explicit RequeueAfter or AddAfter calls)"
)

// workqueueMetricsIn returns the workqueue_* vectors registered in reg
// (controller-runtime's, in the manager), registering them only where
// there are none.
func workqueueMetricsIn(reg prometheus.Registerer) (*workqueueVectors, error) {
	nameLabels := []string{"name", "controller"}
	buckets := prometheus.ExponentialBuckets(10e-9, 10, 12)
	v := &workqueueVectors{}
	var err error
	if v.depth, err = registeredIn(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Subsystem: ctrlmetrics.WorkQueueSubsystem, Name: ctrlmetrics.DepthKey, Help: helpDepth,
	}, []string{"name", "controller", "priority"})); err != nil {
		return nil, err
	}
	if v.adds, err = registeredIn(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Subsystem: ctrlmetrics.WorkQueueSubsystem, Name: ctrlmetrics.AddsKey, Help: helpAdds,
	}, nameLabels)); err != nil {
		return nil, err
	}
	if v.latency, err = registeredIn(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Subsystem: ctrlmetrics.WorkQueueSubsystem, Name: ctrlmetrics.QueueLatencyKey, Help: helpLatency, Buckets: buckets,
	}, nameLabels)); err != nil {
		return nil, err
	}
	if v.workDuration, err = registeredIn(reg, prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Subsystem: ctrlmetrics.WorkQueueSubsystem, Name: ctrlmetrics.WorkDurationKey, Help: helpWorkDuration, Buckets: buckets,
	}, nameLabels)); err != nil {
		return nil, err
	}
	if v.unfinished, err = registeredIn(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Subsystem: ctrlmetrics.WorkQueueSubsystem, Name: ctrlmetrics.UnfinishedWorkKey, Help: helpUnfinished,
	}, nameLabels)); err != nil {
		return nil, err
	}
	if v.longestRunning, err = registeredIn(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Subsystem: ctrlmetrics.WorkQueueSubsystem, Name: ctrlmetrics.LongestRunningProcessorKey, Help: helpLongestRunning,
	}, nameLabels)); err != nil {
		return nil, err
	}
	if v.retries, err = registeredIn(reg, prometheus.NewCounterVec(prometheus.CounterOpts{
		Subsystem: ctrlmetrics.WorkQueueSubsystem, Name: ctrlmetrics.RetriesKey, Help: helpRetries,
	}, nameLabels)); err != nil {
		return nil, err
	}
	return v, nil
}

// registeredIn returns the collector of c's description registered in reg:
// c itself when reg had none, the registered one otherwise.
func registeredIn[C prometheus.Collector](reg prometheus.Registerer, c C) (C, error) {
	err := reg.Register(c)
	if err == nil {
		return c, nil
	}
	var are prometheus.AlreadyRegisteredError
	if errors.As(err, &are) {
		if existing, ok := are.ExistingCollector.(C); ok {
			return existing, nil
		}
		return c, fmt.Errorf("workqueue metric registered as %T, want %T", are.ExistingCollector, c)
	}
	return c, fmt.Errorf("find the workqueue metrics: %w", err)
}

// provider is the client-go workqueue.MetricsProvider over v, labelled as
// controller-runtime labels its queues' series (name and controller both
// the controller's name; depth with no priority).
func (v *workqueueVectors) provider() workqueue.MetricsProvider { return workqueueProvider{v} }

type workqueueProvider struct{ v *workqueueVectors }

func (p workqueueProvider) NewDepthMetric(name string) workqueue.GaugeMetric {
	return p.v.depth.WithLabelValues(name, name, "")
}

func (p workqueueProvider) NewAddsMetric(name string) workqueue.CounterMetric {
	return p.v.adds.WithLabelValues(name, name)
}

func (p workqueueProvider) NewLatencyMetric(name string) workqueue.HistogramMetric {
	return p.v.latency.WithLabelValues(name, name)
}

func (p workqueueProvider) NewWorkDurationMetric(name string) workqueue.HistogramMetric {
	return p.v.workDuration.WithLabelValues(name, name)
}

func (p workqueueProvider) NewUnfinishedWorkSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.v.unfinished.WithLabelValues(name, name)
}

func (p workqueueProvider) NewLongestRunningProcessorSecondsMetric(name string) workqueue.SettableGaugeMetric {
	return p.v.longestRunning.WithLabelValues(name, name)
}

func (p workqueueProvider) NewRetriesMetric(name string) workqueue.CounterMetric {
	return p.v.retries.WithLabelValues(name, name)
}

// newQueueDepthByPlugin is the per-plugin depth gauge.
func newQueueDepthByPlugin() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "bkplugin_invocation_queue_depth",
		Help: "Invocations waiting in the manager's fair work queue, by namespace and plugin; a plugin's series is removed when its queue empties.",
	}, []string{"namespace", "plugin"})
}

// newQueueWorkersByPlugin is the per-plugin gauge of workers in use: how
// the fair queue shares the workers out.
func newQueueWorkersByPlugin() *prometheus.GaugeVec {
	return prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "bkplugin_invocation_queue_workers",
		Help: "Workers of the manager's fair work queue reconciling a plugin's invocations now, by namespace and plugin; a plugin's series is removed when it holds none.",
	}, []string{"namespace", "plugin"})
}

// queueMetrics are one fair queue's metrics, fed as client-go's queue feeds
// its own: adds and depth on an add that was not queued already, queue
// duration and depth on a hand-out, work duration on done, retries on each
// delayed add. Every method is called with the queue's lock held.
type queueMetrics struct {
	clock                 clock.PassiveClock
	depth                 workqueue.GaugeMetric
	adds, retries         workqueue.CounterMetric
	latency, workDuration workqueue.HistogramMetric
	unfinished, longest   workqueue.SettableGaugeMetric
	addTimes, startTimes  map[reconcile.Request]time.Time
	byGroup, busyByGroup  *prometheus.GaugeVec
}

// newQueueMetrics makes the metrics of the queue called name from p, with
// the per-plugin depth in byGroup and workers in use in busyByGroup (nil:
// none). A nil p gives nil: no metrics, and every method is a no-op on nil.
func newQueueMetrics(p workqueue.MetricsProvider, byGroup, busyByGroup *prometheus.GaugeVec, name string, c clock.PassiveClock) *queueMetrics {
	if p == nil {
		return nil
	}
	return &queueMetrics{
		clock: c, depth: p.NewDepthMetric(name), adds: p.NewAddsMetric(name), retries: p.NewRetriesMetric(name),
		latency: p.NewLatencyMetric(name), workDuration: p.NewWorkDurationMetric(name),
		unfinished: p.NewUnfinishedWorkSecondsMetric(name), longest: p.NewLongestRunningProcessorSecondsMetric(name),
		addTimes: map[reconcile.Request]time.Time{}, startTimes: map[reconcile.Request]time.Time{},
		byGroup: byGroup, busyByGroup: busyByGroup,
	}
}

// add: item was added and was not queued already.
func (m *queueMetrics) add(item reconcile.Request) {
	if m == nil {
		return
	}
	m.adds.Inc()
	m.depth.Inc()
	if _, ok := m.addTimes[item]; !ok {
		m.addTimes[item] = m.clock.Now()
	}
}

// get: item was handed to a worker.
func (m *queueMetrics) get(item reconcile.Request) {
	if m == nil {
		return
	}
	m.depth.Dec()
	now := m.clock.Now()
	m.startTimes[item] = now
	if at, ok := m.addTimes[item]; ok {
		m.latency.Observe(now.Sub(at).Seconds())
		delete(m.addTimes, item)
	}
}

// done: item's worker finished.
func (m *queueMetrics) done(item reconcile.Request) {
	if m == nil {
		return
	}
	if at, ok := m.startTimes[item]; ok {
		m.workDuration.Observe(m.clock.Since(at).Seconds())
		delete(m.startTimes, item)
	}
}

// retry: item was added with a delay.
func (m *queueMetrics) retry() {
	if m != nil {
		m.retries.Inc()
	}
}

// groupDepth records that group now has n items queued; a group with none
// has its series removed, so that the label set stays bounded by the
// plugins with work waiting.
func (m *queueMetrics) groupDepth(group string, n int) {
	if m == nil || m.byGroup == nil {
		return
	}
	ns, plugin, _ := strings.Cut(group, "/")
	if n <= 0 {
		m.byGroup.DeleteLabelValues(ns, plugin)
		return
	}
	m.byGroup.WithLabelValues(ns, plugin).Set(float64(n))
}

// groupWorkers records that group now holds n workers; a group with none
// has its series removed.
func (m *queueMetrics) groupWorkers(group string, n int) {
	if m == nil || m.busyByGroup == nil {
		return
	}
	ns, plugin, _ := strings.Cut(group, "/")
	if n <= 0 {
		m.busyByGroup.DeleteLabelValues(ns, plugin)
		return
	}
	m.busyByGroup.WithLabelValues(ns, plugin).Set(float64(n))
}

// updateUnfinished sets the in-progress gauges from the items being
// processed.
func (m *queueMetrics) updateUnfinished() {
	if m == nil {
		return
	}
	var total, oldest float64
	for _, at := range m.startTimes {
		age := m.clock.Since(at).Seconds()
		total += age
		oldest = max(oldest, age)
	}
	m.unfinished.Set(total)
	m.longest.Set(oldest)
}
