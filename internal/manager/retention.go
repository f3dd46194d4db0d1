package manager

import (
	"context"
	"errors"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/invocation"
)

// Defaults of the history flags.
const (
	// DefaultKeepFinished is the invocation reconciler's.
	DefaultKeepFinished = invocation.DefaultKeepFinished
	// DefaultHistoryRetention keeps history 30 days, the Python framework's
	// SCHEDULE_PERSISTENT_DAYS.
	DefaultHistoryRetention = 30 * 24 * time.Hour
	// DefaultArchiveDSN is a SQLite file in the working directory, for a
	// manager run by hand; a cluster names its archive explicitly (config/
	// passes a PostgreSQL DSN from a Secret).
	DefaultArchiveDSN = archive.DefaultDSN
)

// retention deletes history older than its retention from the archive, in
// the archive's short batches, every interval. It runs on the leader only
// (one deleter is enough) and never blocks archiving: PostgreSQL skips rows
// a Put holds, SQLite interleaves batches with Puts.
type retention struct {
	archive   archive.Archive
	retention time.Duration
	interval  time.Duration
	now       func() time.Time
	log       logr.Logger
	deleted   prometheus.Counter
	failures  prometheus.Counter
}

// newRetention registers the loop's metrics with reg.
func newRetention(a archive.Archive, keep, interval time.Duration, log logr.Logger, reg prometheus.Registerer) (*retention, error) {
	r := &retention{
		archive: a, retention: keep, interval: interval, now: time.Now, log: log,
		deleted: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bkplugin_archive_retention_deleted_total",
			Help: "Archived invocations deleted because they finished longer than --history-retention ago.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "bkplugin_archive_retention_errors_total",
			Help: "Retention passes that failed (the archive was down); the next pass catches up.",
		}),
	}
	for _, c := range []prometheus.Collector{r.deleted, r.failures} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// retentionInterval is how often retention runs: a tenth of the retention,
// between a minute and an hour, so history is never kept much longer than
// asked and a short retention in tests is honoured.
func retentionInterval(keep time.Duration) time.Duration {
	return min(max(keep/10, time.Minute), time.Hour)
}

// NeedLeaderElection implements manager.LeaderElectionRunnable.
func (r *retention) NeedLeaderElection() bool { return true }

// Start implements manager.Runnable: a pass at once, then one per interval.
func (r *retention) Start(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		r.pass(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// pass deletes what finished before now minus the retention.
func (r *retention) pass(ctx context.Context) {
	cutoff := r.now().Add(-r.retention)
	n, err := r.archive.DeleteFinishedBefore(ctx, cutoff)
	r.deleted.Add(float64(n))
	switch {
	case err == nil:
		if n > 0 {
			r.log.Info("deleted old history", "invocations", n, "finishedBefore", cutoff)
		}
	case ctx.Err() != nil:
	default:
		r.failures.Inc()
		level := 0
		if errors.Is(err, archive.ErrUnavailable) {
			level = 1 // the archive's own retry loop already says so
		}
		r.log.V(level).Info("history retention failed; retrying next pass", "error", err.Error(), "deletedSoFar", n)
	}
}
