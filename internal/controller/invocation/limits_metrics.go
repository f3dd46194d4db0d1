package invocation

import "github.com/prometheus/client_golang/prometheus"

// newDeferrals is the counter of executes a version's limits deferred.
func newDeferrals() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "bkplugin_execute_deferrals_total",
		Help: "Executes deferred by a version's limits, by plugin and cause: queued (maxActiveInvocations; counted once per queueing), in_flight (maxExecutesInFlight) or rate (executesPerSecond).",
	}, []string{"plugin", "cause"})
}

func (m *Metrics) deferred(plugin, cause string) {
	if m != nil {
		m.deferrals.WithLabelValues(plugin, cause).Inc()
	}
}
