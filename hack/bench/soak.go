package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	shimclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// Shape of the soak phase.
const (
	// soakSampleEvery is how often live objects and RSS are sampled.
	soakSampleEvery = 2 * time.Second
	// soakMaxInFlight bounds the invokes in flight: a stack that falls
	// behind shows as fewer invocations, not as unbounded goroutines.
	soakMaxInFlight = 500
	// soakKeepIDs bounds the trace ids kept for the schedule reads.
	soakKeepIDs = 20000
	// soakReadFor is how long each schedule measurement runs.
	soakReadFor = 5 * time.Second
	// archivePutFor is how long the archive's insert rate is measured.
	archivePutFor = 5 * time.Second
	// archiveBenchNamespace holds the rows of the insert measurement,
	// deleted afterwards: no namespace of the cluster has this name.
	archiveBenchNamespace = "bench-archive-insert-rate"
)

// soakResult is what the soak phase reports.
type soakResult struct {
	Invocations      int
	Failed           int
	NotSent          int
	LiveMax          int
	ManagerRSSGrowth int64
	ShimRSSGrowth    int64
	ArchiveRowsPerS  float64
	ArchivedSchedP99 float64
	LiveSchedP99     float64
	ArchivedSchedN   int
	LiveSchedN       int
	RatePerS         float64
	// Load says how RatePerS was chosen.
	Load           string
	DurationS      float64
	KeepFinishedS  float64
	ArchivedNotice string
	rssWindowS     float64
}

type rssSample struct {
	at            time.Duration
	manager, shim int64
}

// soak runs hello at a steady rate for --soak-duration with the manager's
// --keep-finished at --soak-keep-finished (issue 14): live objects must stay
// bounded by rate x keep-finished, RSS must not grow with the history, and a
// finished invocation's schedule, read from the archive, must stay within 2x
// a live one's.
//
// The rate is --soak-fraction (0.2) of the baseline's create+status
// pairs/s, unless --soak-rate gives it.
func (b *bench) soak(ctx context.Context, r *results) error {
	cfg := b.cfg
	load, err := sizeRate("soak", cfg.soakRate, cfg.soakFraction, r.BaselinePairsPerS)
	if err != nil {
		return err
	}
	cfg.soakRate = load.perS
	progress("soak: hello at %.1f/s (%s)", load.perS, load.describe("create+status pairs/s"))
	shimPID, err := readPID(filepath.Join(b.st.logsDir, "pids"), "shim")
	if err != nil {
		return err
	}
	var (
		mu       sync.Mutex
		ids      []timedID
		samples  []rssSample
		liveMax  int
		sent     atomic.Int64
		done     atomic.Int64
		failed   atomic.Int64
		dropped  atomic.Int64
		firstErr atomic.Value
	)
	start := time.Now()
	loadCtx, stopLoad := context.WithTimeout(ctx, cfg.soakDuration)
	defer stopLoad()

	// Sample the cluster's PluginInvocations and both processes' RSS.
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		t := time.NewTicker(soakSampleEvery)
		defer t.Stop()
		for {
			select {
			case <-loadCtx.Done():
				return
			case <-t.C:
			}
			var list metav1.PartialObjectMetadataList
			list.SetGroupVersionKind(bkv1.GroupVersion.WithKind("PluginInvocationList"))
			if err := b.kube.List(ctx, &list, client.InNamespace(benchNamespace)); err == nil {
				mu.Lock()
				liveMax = max(liveMax, len(list.Items))
				mu.Unlock()
			}
			m, merr := rssBytes(b.st.managerPID)
			s, serr := rssBytes(shimPID)
			if merr == nil && serr == nil {
				mu.Lock()
				samples = append(samples, rssSample{at: time.Since(start), manager: m, shim: s})
				mu.Unlock()
			}
		}
	}()
	// Heap profiles of the manager when warm-up ends and when the load
	// stops (--pprof-dir): `go tool pprof -base` of the two shows what
	// grew while the live set stayed the same size.
	warmUp := min(cfg.soakKeepFinished+30*time.Second, cfg.soakDuration/3)
	profiled := make(chan struct{})
	go func() {
		defer close(profiled)
		select {
		case <-loadCtx.Done():
			return
		case <-time.After(warmUp):
		}
		b.st.saveProfile(ctx, cfg.pprofDir, "manager", "/debug/pprof/heap?gc=1", "soak-manager-warm.heap.pprof")
	}()
	stopProgress := ticker(func() {
		mu.Lock()
		lm := liveMax
		mu.Unlock()
		progress("soak: %d invokes sent in %s (%d failed, %d not sent: %d in flight), at most %d PluginInvocations at once",
			sent.Load(), time.Since(start).Round(time.Second), failed.Load(), dropped.Load(), soakMaxInFlight, lm)
	})

	// A steady rate: one invoke per tick, each in its own goroutine, at
	// most soakMaxInFlight at once.
	slots := make(chan struct{}, soakMaxInFlight)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / cfg.soakRate))
loop:
	for {
		select {
		case <-loadCtx.Done():
			break loop
		case <-tick.C:
		}
		select {
		case slots <- struct{}{}:
		default:
			dropped.Add(1) // the stack is behind: this tick's invoke is not sent
			continue
		}
		sent.Add(1)
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-slots }()
			trace := newTraceID()
			res, err := b.shim.Invoke(ctx, "hello", "1.0.0",
				stdapi.InvokeRequest{Inputs: []byte(`{"name":"soak"}`), Context: []byte(`{}`)}, shimclient.InvokeOptions{TraceID: trace})
			if err == nil && res.State != protocol.StateSuccess {
				err = fmt.Errorf("invoke %s answered state %v (%s), want SUCCESS", trace, res.State, res.Err)
			}
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			done.Add(1)
			mu.Lock()
			if len(ids) < soakKeepIDs {
				ids = append(ids, timedID{id: trace, at: time.Now()})
			} else {
				// Keep the newest too, for the live reads: replace in turn.
				ids[soakKeepIDs/2+int(sent.Load())%(soakKeepIDs/2)] = timedID{id: trace, at: time.Now()}
			}
			mu.Unlock()
		}()
	}
	tick.Stop()
	wg.Wait()
	stopProgress()
	<-sampled
	wall := time.Since(start)
	<-profiled
	b.st.saveProfile(ctx, cfg.pprofDir, "manager", "/debug/pprof/heap?gc=1", "soak-manager-end.heap.pprof")

	res := soakResult{
		Invocations: int(done.Load()), Failed: int(failed.Load()), NotSent: int(dropped.Load()), LiveMax: liveMax,
		RatePerS: cfg.soakRate, Load: load.describe("create+status pairs/s"), DurationS: wall.Seconds(), KeepFinishedS: cfg.soakKeepFinished.Seconds(),
	}
	if e, ok := firstErr.Load().(error); ok {
		progress("soak: first failed invoke: %v", e)
	}
	res.ManagerRSSGrowth, res.ShimRSSGrowth, res.rssWindowS = rssGrowth(samples, cfg.soakKeepFinished, wall)

	// Schedule of live and of archived invocations, in the same run.
	if err := b.soakSchedules(ctx, ids, &res); err != nil {
		return err
	}
	// The archive's own insert rate, against the stack's database.
	if res.ArchiveRowsPerS, err = archiveInsertRate(ctx, b.archiveDSN(), cfg.concurrency); err != nil {
		return err
	}
	r.Soak = &res
	progress("soak: %d invocations at %.0f/s for %s (%d failed, %d not sent), live max %d, RSS growth manager %+.1f MiB shim %+.1f MiB, archive %.0f rows/s, schedule p99 live %.1f ms archived %.1f ms",
		res.Invocations, cfg.soakRate, wall.Round(time.Second), res.Failed, res.NotSent, res.LiveMax,
		float64(res.ManagerRSSGrowth)/(1<<20), float64(res.ShimRSSGrowth)/(1<<20), res.ArchiveRowsPerS, res.LiveSchedP99, res.ArchivedSchedP99)
	return nil
}

// timedID is a trace id and when its invoke answered.
type timedID struct {
	id string
	at time.Time
}

// rssGrowth is the mean RSS of the last window minus that of the first
// window after warm-up, for the manager and the shim. Warm-up lasts
// keep-finished plus 30 s (the live set is then at its steady size), cut
// to a third of the run for short runs; a window is a minute, or less so
// that two fit in what is left.
func rssGrowth(samples []rssSample, keepFinished, wall time.Duration) (manager, shim int64, windowS float64) {
	warm := min(keepFinished+30*time.Second, wall/3)
	window := min(time.Minute, (wall-warm)/2)
	mean := func(from, to time.Duration) (m, s int64, ok bool) {
		var n int64
		for _, x := range samples {
			if x.at >= from && x.at < to {
				m, s, n = m+x.manager, s+x.shim, n+1
			}
		}
		if n == 0 {
			return 0, 0, false
		}
		return m / n, s / n, true
	}
	fm, fs, ok1 := mean(warm, warm+window)
	lm, ls, ok2 := mean(wall-window, wall+time.Second)
	if !ok1 || !ok2 {
		return 0, 0, 0
	}
	return lm - fm, ls - fs, window.Seconds()
}

// soakSchedules measures schedule at --concurrency for trace ids still in
// the cluster (finished within keep-finished) and for trace ids the manager
// has archived and deleted, so that the second reads through to the archive.
func (b *bench) soakSchedules(ctx context.Context, ids []timedID, res *soakResult) error {
	sort.Slice(ids, func(i, j int) bool { return ids[i].at.Before(ids[j].at) })
	var live, gone []string
	// The newest are still in the cluster (finished within keep-finished).
	for i := len(ids) - 1; i >= 0 && len(live) < 500 && time.Since(ids[i].at) < b.cfg.soakKeepFinished; i-- {
		if b.inCluster(ctx, ids[i].id) {
			live = append(live, ids[i].id)
		}
	}
	for i := 0; i < len(ids) && len(gone) < 500; i++ {
		if time.Since(ids[i].at) > b.cfg.soakKeepFinished+10*time.Second && !b.inCluster(ctx, ids[i].id) {
			gone = append(gone, ids[i].id)
		}
	}
	if len(gone) == 0 {
		res.ArchivedNotice = "no invocation had left the cluster: is the manager archiving and deleting (--archive, --keep-finished)?"
		progress("soak: %s", res.ArchivedNotice)
	}
	var err error
	if res.LiveSchedP99, res.LiveSchedN, err = b.scheduleP99(ctx, "schedule of live invocations", live); err != nil {
		return err
	}
	if res.ArchivedSchedP99, res.ArchivedSchedN, err = b.scheduleP99(ctx, "schedule of archived invocations", gone); err != nil {
		return err
	}
	return nil
}

// inCluster reports whether the PluginInvocation named id exists.
func (b *bench) inCluster(ctx context.Context, id string) bool {
	var obj metav1.PartialObjectMetadata
	obj.SetGroupVersionKind(bkv1.GroupVersion.WithKind("PluginInvocation"))
	err := b.kube.Get(ctx, client.ObjectKey{Namespace: benchNamespace, Name: id}, &obj)
	return !apierrors.IsNotFound(err)
}

// scheduleP99 reads schedule of ids round-robin at --concurrency for
// soakReadFor and returns the p99 latency and how many reads it made.
func (b *bench) scheduleP99(ctx context.Context, what string, ids []string) (float64, int, error) {
	if len(ids) == 0 {
		return 0, 0, nil
	}
	var mu sync.Mutex
	var lat []time.Duration
	var next atomic.Int64
	readCtx, cancel := context.WithTimeout(ctx, soakReadFor)
	defer cancel()
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range b.cfg.concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for readCtx.Err() == nil {
				id := ids[int(next.Add(1))%len(ids)]
				t := time.Now()
				s, err := b.shim.Schedule(readCtx, "hello", id)
				d := time.Since(t)
				if readCtx.Err() != nil {
					return
				}
				if err == nil && s.State != protocol.StateSuccess {
					err = fmt.Errorf("schedule %s answered state %v", id, s.State)
				}
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("%s: %w", what, err) })
					return
				}
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if firstErr != nil {
		return 0, 0, firstErr
	}
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	p99 := ms(percentile(lat, 0.99))
	progress("%s: %d reads of %d trace ids at c=%d, p50 %.1f ms, p99 %.1f ms", what, len(lat), len(ids), b.cfg.concurrency, ms(percentile(lat, 0.5)), p99)
	return p99, len(lat), nil
}

// archiveDSN is the archive the stack's manager and shim share: --soak-archive,
// else the SQLite file localstack keeps in its run folder.
func (b *bench) archiveDSN() string {
	if b.cfg.soakArchive != "" {
		return b.cfg.soakArchive
	}
	return "sqlite://" + filepath.Join(filepath.Dir(b.st.logsDir), "run", "history.db")
}

// archiveInsertRate is the archive's sustained insert rate on its own:
// conc writers Put distinct finished records for archivePutFor, in a
// namespace of their own that is deleted afterwards (their finish time is
// in 2001, so retention's DeleteFinishedBefore removes them and nothing
// else).
func archiveInsertRate(ctx context.Context, dsn string, conc int) (float64, error) {
	if p, ok := sqliteFile(dsn); ok {
		if _, err := os.Stat(p); err != nil {
			return 0, fmt.Errorf("archive insert rate: the stack's archive %s: %w", p, err)
		}
	}
	a, err := archive.Open(ctx, dsn, archive.Options{})
	if err != nil {
		return 0, fmt.Errorf("archive insert rate: %w", err)
	}
	defer a.Close()
	old := time.Date(2001, 1, 1, 0, 0, 0, 0, time.UTC)
	var n atomic.Int64
	putCtx, cancel := context.WithTimeout(ctx, archivePutFor)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr error
	var once sync.Once
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for putCtx.Err() == nil {
				rec := archive.Record{
					Key:    archive.Key{Namespace: archiveBenchNamespace, TraceID: newTraceID()},
					Plugin: "hello", RequestedVersion: "1.0.0", ResolvedVersion: "1.0.0",
					State: protocol.StateSuccess, Inputs: []byte(`{"name":"soak"}`), Context: []byte(`{}`),
					Outputs: []byte(`{"greeting":"Hello, soak!"}`), InvokeCount: 1,
					CreatedAt: old, StartedAt: old, FinishedAt: old,
					Timeline: []archive.TimelineEntry{{Time: old, State: "SUCCESS", Reason: "Succeeded", Message: "invocation SUCCESS"}},
					Logs:     []string{"greeted name=soak"},
				}
				err := a.Put(putCtx, rec)
				if putCtx.Err() != nil {
					return
				}
				if err != nil {
					once.Do(func() { firstErr = err })
					return
				}
				n.Add(1)
			}
		}()
	}
	wg.Wait()
	wall := time.Since(start)
	if firstErr != nil {
		return 0, fmt.Errorf("archive insert rate: %w", firstErr)
	}
	rate := float64(n.Load()) / wall.Seconds()
	progress("archive: %d Puts by %d writers in %s: %.0f rows/s", n.Load(), conc, wall.Round(time.Millisecond), rate)
	if _, err := a.DeleteFinishedBefore(ctx, old.Add(time.Hour)); err != nil && !errors.Is(err, context.Canceled) {
		progress("archive: deleting the measurement's rows: %v", err)
	}
	return rate, nil
}

// sqliteFile returns the file of a sqlite DSN with an absolute path.
func sqliteFile(dsn string) (string, bool) {
	const prefix = "sqlite://"
	if len(dsn) > len(prefix) && dsn[:len(prefix)] == prefix && dsn[len(prefix)] == '/' {
		return dsn[len(prefix):], true
	}
	return "", false
}
