package invocation

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/apimachinery/pkg/types"
)

// Metrics are the invocation reconciler's Prometheus metrics.
type Metrics struct {
	transitions *prometheus.CounterVec
	executes    *prometheus.HistogramVec
	pollLate    prometheus.Histogram
	retries     *prometheus.CounterVec
	archives    *prometheus.CounterVec
	pending     prometheus.Gauge
	suppressed  *prometheus.CounterVec
	// deferrals counts executes the version's limits deferred (limits_metrics.go).
	deferrals *prometheus.CounterVec
	// workqueue are controller-runtime's workqueue_* vectors, which the
	// fair queue feeds; queueDepth and queueWorkers are its depth and its
	// workers in use per plugin (fair_queue_metrics.go).
	workqueue                *workqueueVectors
	queueDepth, queueWorkers *prometheus.GaugeVec

	// pendingKeys are the finished invocations whose last archive attempt
	// failed; the pending gauge is their number.
	mu          sync.Mutex
	pendingKeys map[types.NamespacedName]struct{}
}

// NewMetrics creates the metrics and registers them with reg
// (controller-runtime's metrics.Registry in the manager).
func NewMetrics(reg prometheus.Registerer) (*Metrics, error) {
	m := &Metrics{
		transitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bkplugin_invocation_transitions_total",
			Help: "Invocations entering each state, by plugin.",
		}, []string{"plugin", "state"}),
		executes: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "bkplugin_execute_duration_seconds",
			Help:    "Latency of execute calls to plugin pods, by plugin and outcome (the new state, or error).",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}, []string{"plugin", "outcome"}),
		pollLate: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "bkplugin_poll_lateness_seconds",
			Help: "How long after its nextPollTime a POLL invocation was executed.",
			// 1 ms to 70 minutes: an overloaded manager is late by
			// minutes, and a histogram whose top bucket is below that
			// says only "more than".
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 23),
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bkplugin_call_retries_total",
			Help: "Failed calls to plugin pods or notification URLs that will be retried, by plugin.",
		}, []string{"plugin"}),
		archives: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bkplugin_archive_writes_total",
			Help: "Attempts to write a finished invocation to the history archive, by outcome: archived, unavailable (the archive is down; retried), refused (the record is invalid) or busy (not tried: every Put slot was taken; an answer then costs a second status write).",
		}, []string{"outcome"}),
		pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "bkplugin_archive_pending",
			Help: "Finished invocations waiting in the cluster because the history archive could not be written.",
		}),
		suppressed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bkplugin_invocation_events_suppressed_total",
			Help: "Invocation events not recorded because the plugin's invocations used up their event budget (Options.EventsPerMinute), by plugin; the invocations' status still says what happened.",
		}, []string{"plugin"}),
		deferrals:    newDeferrals(),
		queueDepth:   newQueueDepthByPlugin(),
		queueWorkers: newQueueWorkersByPlugin(),
		pendingKeys:  map[types.NamespacedName]struct{}{},
	}
	for _, c := range []prometheus.Collector{m.transitions, m.executes, m.pollLate, m.retries, m.archives, m.pending, m.suppressed, m.deferrals, m.queueDepth, m.queueWorkers} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	wq, err := workqueueMetricsIn(reg)
	if err != nil {
		return nil, err
	}
	m.workqueue = wq
	return m, nil
}

func (m *Metrics) transition(plugin, state string) {
	if m != nil {
		m.transitions.WithLabelValues(plugin, state).Inc()
	}
}

func (m *Metrics) eventSuppressed(plugin string) {
	if m != nil {
		m.suppressed.WithLabelValues(plugin).Inc()
	}
}

func (m *Metrics) execute(plugin, outcome string, seconds float64) {
	if m != nil {
		m.executes.WithLabelValues(plugin, outcome).Observe(seconds)
	}
}

func (m *Metrics) pollLateness(seconds float64) {
	if m != nil {
		m.pollLate.Observe(max(seconds, 0))
	}
}

func (m *Metrics) retry(plugin string) {
	if m != nil {
		m.retries.WithLabelValues(plugin).Inc()
	}
}

// archiveAttempt counts an archive attempt by its outcome and keeps the
// pending gauge: an invocation is pending from a failed attempt until one
// succeeds or it is gone.
func (m *Metrics) archiveAttempt(key types.NamespacedName, outcome string) {
	if m == nil {
		return
	}
	m.archives.WithLabelValues(outcome).Inc()
	m.archivePending(key, outcome != archiveOK)
}

// archiveBusy counts an archive attempt not made because every Put slot
// was taken. It is not a failure: nothing is pending because of it.
func (m *Metrics) archiveBusy() {
	if m != nil {
		m.archives.WithLabelValues(archiveBusy).Inc()
	}
}

// archivePending marks key pending or not.
func (m *Metrics) archivePending(key types.NamespacedName, pending bool) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if pending {
		m.pendingKeys[key] = struct{}{}
	} else {
		delete(m.pendingKeys, key)
	}
	m.pending.Set(float64(len(m.pendingKeys)))
}
