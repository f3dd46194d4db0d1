package server

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// metrics are the plugin pod's own metrics; each Server registers them in
// its own registry, so that tests can run many servers in one process.
type metrics struct {
	executes *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight prometheus.Gauge
	rejected *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer, code string) (*metrics, error) {
	constLabels := prometheus.Labels{"plugin": code}
	m := &metrics{
		executes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "bkplugin_executes_total",
			Help:        "Executes answered, by plugin version and outcome (the state answered: POLL, CALLBACK, SUCCESS or FAIL).",
			ConstLabels: constLabels,
		}, []string{"version", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:        "bkplugin_execute_duration_seconds",
			Help:        "Time to answer an execute, validation and the plugin's code included.",
			ConstLabels: constLabels,
			Buckets:     []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}, []string{"version"}),
		inFlight: prometheus.NewGauge(prometheus.GaugeOpts{
			Name:        "bkplugin_executes_in_flight",
			Help:        "Executes running now.",
			ConstLabels: constLabels,
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name:        "bkplugin_execute_requests_rejected_total",
			Help:        "Execute requests answered with a 4xx status, by reason.",
			ConstLabels: constLabels,
		}, []string{"reason"}),
	}
	for _, c := range []prometheus.Collector{m.executes, m.duration, m.inFlight, m.rejected} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// defaultRegistry is a fresh registry with the Go runtime and process
// collectors, the usual contents of a pod's /metrics.
func defaultRegistry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return reg
}
