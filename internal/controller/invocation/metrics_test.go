package invocation

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/types"
)

// The pending gauge counts invocations whose last archive attempt failed,
// each once, until one succeeds or the invocation is gone.
func TestArchivePendingGauge(t *testing.T) {
	m, err := NewMetrics(prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	gauge := func() float64 {
		var d dto.Metric
		if err := m.pending.Write(&d); err != nil {
			t.Fatal(err)
		}
		return d.GetGauge().GetValue()
	}
	a, b := types.NamespacedName{Namespace: "ns", Name: "a"}, types.NamespacedName{Namespace: "ns", Name: "b"}
	steps := []struct {
		do   func()
		want float64
	}{
		{func() { m.archiveAttempt(a, archiveUnavailable) }, 1},
		{func() { m.archiveAttempt(a, archiveUnavailable) }, 1}, // the same one again
		{func() { m.archiveAttempt(b, archiveRefused) }, 2},
		{func() { m.archiveAttempt(a, archiveOK) }, 1},
		{func() { m.archivePending(b, false) }, 0}, // deleted
		{func() { m.archiveAttempt(a, archiveOK) }, 0},
	}
	for i, s := range steps {
		s.do()
		if got := gauge(); got != s.want {
			t.Fatalf("step %d: pending %v, want %v", i, got, s.want)
		}
	}
	var nilMetrics *Metrics
	nilMetrics.archiveAttempt(a, archiveOK) // a reconciler without metrics
}
