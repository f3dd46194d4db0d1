package controllers

import (
	"github.com/prometheus/client_golang/prometheus"
)

// InvocationMetrics are the invocation reconciler's Prometheus metrics.
type InvocationMetrics struct {
	transitions *prometheus.CounterVec
	executes    *prometheus.HistogramVec
	pollLate    prometheus.Histogram
	retries     *prometheus.CounterVec
}

// NewInvocationMetrics creates the metrics and registers them with reg
// (controller-runtime's metrics.Registry in the manager).
func NewInvocationMetrics(reg prometheus.Registerer) (*InvocationMetrics, error) {
	m := &InvocationMetrics{
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
			Name:    "bkplugin_poll_lateness_seconds",
			Help:    "How long after its nextPollTime a POLL invocation was executed.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 16),
		}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "bkplugin_call_retries_total",
			Help: "Failed calls to plugin pods or notification URLs that will be retried, by plugin.",
		}, []string{"plugin"}),
	}
	for _, c := range []prometheus.Collector{m.transitions, m.executes, m.pollLate, m.retries} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

func (m *InvocationMetrics) transition(plugin, state string) {
	if m != nil {
		m.transitions.WithLabelValues(plugin, state).Inc()
	}
}

func (m *InvocationMetrics) execute(plugin, outcome string, seconds float64) {
	if m != nil {
		m.executes.WithLabelValues(plugin, outcome).Observe(seconds)
	}
}

func (m *InvocationMetrics) pollLateness(seconds float64) {
	if m != nil {
		m.pollLate.Observe(max(seconds, 0))
	}
}

func (m *InvocationMetrics) retry(plugin string) {
	if m != nil {
		m.retries.WithLabelValues(plugin).Inc()
	}
}
