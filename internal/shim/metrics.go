package shim

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the shim's Prometheus metrics, registered on the injected
// registry so that two servers in one process (tests) do not collide.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	waits    *prometheus.CounterVec
	// paths counts invokes by the path they took: direct (answered and
	// archived by the shim), direct_live (first answer POLL or CALLBACK,
	// now a PluginInvocation), direct_fallback (archive down: to the
	// cluster with its result), handoff (first execute outlasted the
	// invoke timeout), execute_failed (to the manager's retries), or
	// cluster_<why> (needsCluster's reason).
	paths *prometheus.CounterVec
}

// Outcomes of an invoke's wait for the first execute.
const (
	waitExecuted = "executed"
	waitTimeout  = "timeout"
	waitAsync    = "async"
	waitGone     = "gone"
	waitAborted  = "aborted"
)

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "bkplugin", Subsystem: "shim", Name: "requests_total",
			Help: "Requests served, by route template, method and status code.",
		}, []string{"route", "method", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: "bkplugin", Subsystem: "shim", Name: "request_duration_seconds",
			Help: "Time to answer a request, by route template.",
			// Synchronous invokes wait for a plugin's first execute, so the
			// buckets reach well past the default invoke timeout.
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"route"}),
		waits: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "bkplugin", Subsystem: "shim", Name: "invoke_waits_total",
			Help: "How invokes' waits for the first execute ended: executed, timeout, async, gone or aborted.",
		}, []string{"outcome"}),
		paths: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "bkplugin", Subsystem: "shim", Name: "invoke_paths_total",
			Help: "Invokes by the path they took: direct, direct_live, direct_fallback, handoff, execute_failed or cluster_<reason>.",
		}, []string{"path"}),
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration, m.waits, m.paths} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register shim metrics: %w", err)
		}
	}
	return m, nil
}
