//go:build envtest

package reliability

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/archive/archivetest"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// historyKeepFinished is the manager's --keep-finished in the history
// scenarios: short, so that deletion follows archiving within the test.
const historyKeepFinished = 5 * time.Second

// history runs the two crash cases of the history archive against a real
// PostgreSQL started for the purpose, with the manager switched to it and
// to a short --keep-finished: a manager killed between archiving and
// deleting, and an archive that is down (with a manager killed meanwhile).
// Each must leave exactly one row per invocation (0 lost, 0 duplicated),
// and no execute may run twice.
func history(t *testing.T, s *stack, n int) []row {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	pg, err := archivetest.Start(ctx)
	if errors.Is(err, archivetest.ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skipf("PostgreSQL is not installed: %v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Stop() })
	dsn := pg.DSN("postgres")
	a, err := archive.Open(ctx, dsn, archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close() })

	// Later flags win: the stack's --archive is replaced.
	saved, savedShim := s.managerArgs, s.shimArgs
	s.managerArgs = append(append([]string(nil), saved...), "--archive", dsn, "--keep-finished", historyKeepFinished.String())
	s.shimArgs = append(append([]string(nil), savedShim...), "--archive", dsn)
	t.Cleanup(func() {
		s.manager.kill()
		s.shim.kill()
		s.managerArgs, s.shimArgs = saved, savedShim
		s.restartManager()
		s.restartShim()
	})
	s.manager.kill()
	s.shim.kill()
	s.restartManager()
	s.restartShim()

	return []row{killBetweenArchiveAndDelete(t, s, a, n), archiveDown(t, s, a, pg, n)}
}

// killBetweenArchiveAndDelete invokes n short invocations, kills the
// manager with SIGKILL as soon as the first is archived (so that many are
// archived and not yet deleted, some finished and not yet archived, and
// perhaps one archived and not yet marked), restarts it, and waits until
// every invocation is gone from the cluster. Recovery: restart to all
// archived and deleted.
func killBetweenArchiveAndDelete(t *testing.T, s *stack, a archive.Archive, n int) row {
	ids := traceIDs(t, n)
	inputs := map[string]any{"mode": "sleep", "sleep_ms": 50, "batch": "archive-kill"}
	parallel(t, n, 16, func(i int) error { return invokeUntilRecorded(s, "recorder", ids[i], inputs, true) })
	// Kill as soon as the first is archived: with keep-finished 5s, the
	// others are then archived and waiting, finishing, or not archived yet.
	err := poll(5*time.Minute, 20*time.Millisecond, func() (bool, error) {
		invs, err := s.invocations(ids)
		if err != nil {
			return false, nil
		}
		for _, inv := range invs {
			if inv.Status.ArchivedTime != nil {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no invocation archived: %v", err)
	}
	// How the archive attempts went so far: "busy" ones cost a fresh
	// answer its single status write (a second one follows).
	t.Logf("archive attempts before the kill: %s", s.managerMetric("bkplugin_archive_writes_total"))
	s.manager.kill()
	killed := time.Now()
	invs, err := s.invocations(ids)
	if err != nil {
		t.Fatal(err)
	}
	archivedAtKill := 0
	// recorded: the answer was somewhere at the kill, in status or (the
	// window between archiving and the status write) only in the archive.
	recorded := map[string]bool{}
	for _, inv := range invs {
		if inv.Status.ArchivedTime != nil {
			archivedAtKill++
		}
		if inv.Status.InvokeCount > 0 {
			recorded[inv.Name] = true
		}
	}
	onlyArchived := 0
	for _, id := range ids {
		if _, err := a.Get(context.Background(), archive.Key{Namespace: namespace, TraceID: id}); err == nil && !recorded[id] {
			recorded[id] = true
			onlyArchived++
		}
	}
	t.Logf("killed the manager with %d of %d invocations archived (%d in the archive only, their status not written yet), %d answers recorded, %d left in the cluster",
		archivedAtKill, n, onlyArchived, len(recorded), len(invs))
	restart := time.Now()
	s.restartManager()
	s.waitGone(ids, 5*time.Minute)
	recovered := time.Since(restart)
	lost, dup := checkRows(t, a, ids)
	recs := s.records(ids)
	rep := repeated(recs)
	logRepeated(t, recs, killed)
	// An execute the manager was killed during, its answer recorded
	// nowhere, runs again: at least once, documented. One whose answer was
	// recorded, in status or only in the archive, must never run again.
	inFlight := map[string][]record{}
	for id, rs := range recs {
		if !recorded[id] {
			inFlight[id] = rs
		}
	}
	repInFlight := repeated(inFlight)
	if after := rep - repInFlight; after > 0 {
		t.Errorf("%d executes ran again although their answer was recorded before the kill", after)
	}
	t.Logf("archive kill: %d invocations, %d lost, %d duplicated rows, %d repeated executes (%d killed in flight with no answer recorded, %d after the answer was recorded)",
		n, lost, dup, rep, repInFlight, rep-repInFlight)
	return row{fault: "manager kill -9 between archiving and deleting finished invocations", invocations: n,
		lost: lost + dup, repeated: rep, early: -1, recover: recovered}
}

// archiveDownSleep is how long each archive-down execute sleeps: longer
// than creating the invocations takes.
const archiveDownSleep = 5 * time.Second

// archiveDown invokes n invocations, stops PostgreSQL, waits until each
// says Archived=False ArchiveUnavailable, kills and restarts the manager
// while the database is still down (it must start regardless), checks that
// none is deleted past --keep-finished, starts PostgreSQL again and waits
// until every invocation is archived and deleted. Recovery: database back
// to all archived and deleted.
func archiveDown(t *testing.T, s *stack, a archive.Archive, pg *archivetest.Server, n int) row {
	// The shim reads the archive before it accepts a caller's trace id (an
	// archived one must not run again), so the invocations are created
	// while the database is up and finish after it stopped: executes of
	// archiveDownSleep outlast creating them.
	ids := traceIDs(t, n)
	inputs := map[string]any{"mode": "sleep", "sleep_ms": archiveDownSleep.Milliseconds(), "batch": "archive-down"}
	created := time.Now()
	parallel(t, n, 16, func(i int) error { return invokeUntilRecorded(s, "recorder", ids[i], inputs, true) })
	if err := pg.Halt(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pg.Resume(context.Background()) })
	if took := time.Since(created); took >= archiveDownSleep {
		t.Logf("creating took %s, longer than the executes: some may have been archived before the database stopped", took)
	}
	// Meanwhile a new call naming its trace id is refused with 503 and the
	// reason, never run without knowing whether it ran before (docs/history.md).
	fresh := traceIDs(t, 1)[0]
	if ans := s.invoke("recorder", fresh, inputs, true); ans.status != http.StatusServiceUnavailable || !strings.Contains(ans.env.Message, "archive") {
		t.Errorf("invoke of a new trace id with the archive down: %d %s; want 503 naming the archive", ans.status, ans.raw)
	}
	unavailable := func(inv *bkv1.PluginInvocation) bool {
		for _, c := range inv.Status.Conditions {
			if c.Type == bkv1.ConditionArchived && c.Reason == bkv1.ReasonArchiveUnavailable {
				return true
			}
		}
		return false
	}
	s.waitAll(ids, 5*time.Minute, "Archived=False ArchiveUnavailable", unavailable)
	s.manager.kill()
	s.restartManager() // with the database still down
	// For twice --keep-finished, every invocation stays in the cluster.
	deleted := 0
	until := time.Now().Add(2 * historyKeepFinished)
	_ = poll(3*historyKeepFinished, 500*time.Millisecond, func() (bool, error) {
		if invs, err := s.invocations(ids); err == nil {
			deleted = max(deleted, n-len(invs))
		}
		return time.Now().After(until), nil
	})
	if deleted != 0 {
		t.Errorf("%d invocations were deleted while the archive was down", deleted)
	}
	resumed := time.Now()
	if err := pg.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	s.waitGone(ids, 5*time.Minute)
	recovered := time.Since(resumed)
	lost, dup := checkRows(t, a, ids)
	rep := repeated(s.records(ids))
	t.Logf("archive down: %d invocations, %d deleted while down, %d lost, %d duplicated rows, %d repeated executes, caught up in %s",
		n, deleted, lost, dup, rep, recovered.Round(time.Millisecond))
	return row{fault: "archive (PostgreSQL) down, manager kill -9 meanwhile, then back", invocations: n,
		lost: lost + dup + deleted, repeated: rep, early: -1, recover: recovered}
}

// waitGone waits until no invocation of ids is left in the cluster.
func (s *stack) waitGone(ids []string, timeout time.Duration) {
	s.t.Helper()
	left := 0
	err := poll(timeout, 500*time.Millisecond, func() (bool, error) {
		invs, err := s.invocations(ids)
		if err != nil {
			return false, nil
		}
		left = len(invs)
		return left == 0, nil
	})
	if err != nil {
		s.t.Fatalf("%d of %d invocations still in the cluster: %v", left, len(ids), err)
	}
}

// checkRows lists the archive's recorder history and counts the trace ids
// of ids without a SUCCESS row (lost) and those listed more than once
// (duplicated).
func checkRows(t *testing.T, a archive.Archive, ids []string) (lost, dup int) {
	t.Helper()
	seen := map[string]int{}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
	}
	cursor := ""
	for {
		page, err := a.List(context.Background(), archive.ListOptions{Namespace: namespace, Plugin: "recorder", Limit: archive.MaxListLimit, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Items {
			if !want[r.TraceID] {
				continue
			}
			seen[r.TraceID]++
			if r.State != protocol.StateSuccess || r.InvokeCount != 1 || !strings.Contains(string(r.Inputs), `"sleep"`) {
				t.Errorf("row %s: state %s, invoke count %d, inputs %s; want SUCCESS after one execute", r.TraceID, r.State, r.InvokeCount, r.Inputs)
				lost++
			}
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	for _, id := range ids {
		switch seen[id] {
		case 0:
			lost++
			t.Errorf("invocation %s is gone from the cluster and not in the archive", id)
		case 1:
		default:
			dup++
			t.Errorf("invocation %s has %d rows", id, seen[id])
		}
	}
	return lost, dup
}

// logRepeated says, for each trace id executed twice for one invoke count,
// when its executes began relative to the kill, so that an execute the
// manager was killed during (at least once, documented) is told from one
// repeated after its answer was recorded somewhere.
func logRepeated(t *testing.T, recs map[string][]record, killed time.Time) {
	t.Helper()
	for id, rs := range recs {
		seen := map[int]bool{}
		dup := false
		for _, r := range rs {
			dup = dup || seen[r.InvokeCount]
			seen[r.InvokeCount] = true
		}
		if !dup {
			continue
		}
		var at []string
		for _, r := range rs {
			at = append(at, fmt.Sprintf("#%d %+dms", r.InvokeCount, time.Unix(0, r.At).Sub(killed).Milliseconds()))
		}
		t.Logf("repeated %s: executes at %s from the kill", id, strings.Join(at, ", "))
	}
}

// managerMetric returns the lines of the manager's metrics that name
// metric, or why it could not read them.
func (s *stack) managerMetric(metric string) string {
	resp, err := http.Get("http://" + s.managerMetrics + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err.Error()
	}
	var lines []string
	for _, l := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(l, metric) {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return fmt.Sprintf("none (HTTP %d)", resp.StatusCode)
	}
	return strings.Join(lines, "; ")
}
