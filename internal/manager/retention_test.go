package manager

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

func TestRetentionInterval(t *testing.T) {
	for keep, want := range map[time.Duration]time.Duration{
		30 * 24 * time.Hour: time.Hour,
		5 * time.Hour:       30 * time.Minute,
		time.Minute:         time.Minute,
	} {
		if got := retentionInterval(keep); got != want {
			t.Errorf("retentionInterval(%v) = %v, want %v", keep, got, want)
		}
	}
}

// TestRetentionPass archives invocations that finished at different times
// in a real SQLite file and checks that one pass deletes exactly those past
// the retention, and that a pass on a closed archive is counted, not fatal.
func TestRetentionPass(t *testing.T) {
	ctx := context.Background()
	a, err := archive.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "h.db"), archive.Options{DeleteBatch: 2})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)
	ages := map[string]time.Duration{"old1": 31 * 24 * time.Hour, "old2": 40 * 24 * time.Hour, "old3": 30*24*time.Hour + time.Second,
		"young": 29 * 24 * time.Hour, "fresh": time.Minute}
	for trace, age := range ages {
		end := now.Add(-age)
		if err := a.Put(ctx, archive.Record{Key: archive.Key{Namespace: "ns", TraceID: trace}, Plugin: "hello",
			RequestedVersion: "1.0.0", State: protocol.StateSuccess, CreatedAt: end.Add(-time.Second), FinishedAt: end}); err != nil {
			t.Fatal(err)
		}
	}
	r, err := newRetention(a, DefaultHistoryRetention, time.Hour, logr.Discard(), prometheus.NewRegistry())
	if err != nil {
		t.Fatal(err)
	}
	r.now = func() time.Time { return now }
	r.pass(ctx)
	if got := value(r.deleted); got != 3 {
		t.Fatalf("deleted %v, want 3", got)
	}
	for trace, age := range ages {
		_, err := a.Get(ctx, archive.Key{Namespace: "ns", TraceID: trace})
		if gone := errors.Is(err, archive.ErrNotFound); gone != (age > DefaultHistoryRetention) {
			t.Errorf("%s (finished %v ago): Get %v", trace, age, err)
		}
	}
	_ = a.Close()
	r.pass(ctx)
	if got := value(r.failures); got != 1 {
		t.Fatalf("failures %v, want 1", got)
	}
}

func value(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}
