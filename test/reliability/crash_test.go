//go:build envtest

package reliability

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// pollInterval is the recorder's poll interval in the manager crash: long
// enough that the kill lands while most invocations wait, short enough that
// the test ends soon after the restart.
const pollInterval = 6

// managerKill kills the manager with SIGKILL while n invocations wait, half
// in POLL (two polls pollInterval apart) and half in CALLBACK, delivers half
// of the callbacks while it is down, restarts it and delivers the rest. Every
// invocation must end SUCCESS with its own result; no POLL execute may come
// before the nextPollTime recorded before the kill, nor sooner than the
// interval after the previous execute. Recovery: restart to all terminal.
func managerKill(t *testing.T, s *stack, n int) row {
	ids := traceIDs(t, n)
	isPoll := func(i int) bool { return i%2 == 0 }
	inputs := func(i int) map[string]any {
		if isPoll(i) {
			return map[string]any{"mode": "poll", "polls": 2, "interval": pollInterval, "batch": "manager-kill"}
		}
		return map[string]any{"mode": "callback", "batch": "manager-kill"}
	}
	created := time.Now()
	parallel(t, n, 16, func(i int) error {
		return invokeUntilRecorded(s, "recorder", ids[i], inputs(i), true)
	})
	t.Logf("created %d invocations in %s", n, time.Since(created).Round(time.Millisecond))

	waiting := s.waitAll(ids, 5*time.Minute, "waiting in POLL or CALLBACK", func(inv *bkv1.PluginInvocation) bool {
		return inv.Status.State == bkv1.StatePoll || inv.Status.State == bkv1.StateCallback
	})

	s.manager.kill()
	killedAt := time.Now()
	// What the manager wrote before it died: the poll times to respect.
	again := s.waitAll(ids, time.Minute, "readable", func(*bkv1.PluginInvocation) bool { return true })
	nextPoll := map[string]time.Time{}
	nextCount := map[string]int{}
	for id, inv := range again {
		if inv.Status.State == bkv1.StatePoll && inv.Status.NextPollTime != nil {
			nextPoll[id] = inv.Status.NextPollTime.Time
			nextCount[id] = int(inv.Status.InvokeCount) + 1
		}
	}
	t.Logf("killed the manager %s after all were waiting; %d in POLL", killedAt.Sub(created).Round(time.Millisecond), len(nextPoll))

	// Callbacks: half while the manager is down, half after the restart.
	var cbIdx []int
	for i := range ids {
		if !isPoll(i) {
			cbIdx = append(cbIdx, i)
		}
	}
	deliver := func(idx []int) {
		parallel(t, len(idx), 16, func(k int) error {
			i := idx[k]
			inv := waiting[ids[i]]
			return callback(s, inv, i)
		})
	}
	deliver(cbIdx[:len(cbIdx)/2])
	restart := time.Now()
	s.restartManager()
	deliver(cbIdx[len(cbIdx)/2:])

	final := s.waitAll(ids, 10*time.Minute, "terminal", func(inv *bkv1.PluginInvocation) bool { return inv.Status.State.Terminal() })
	recovered := time.Since(restart)

	lost := 0
	for i, id := range ids {
		inv := final[id]
		want := `"polls_done":2`
		if !isPoll(i) {
			want = fmt.Sprintf(`"received":{"n":%d}`, i)
		}
		got := ""
		if inv.Status.Outputs != nil {
			got = string(inv.Status.Outputs.Raw)
		}
		if inv.Status.State != bkv1.StateSuccess || !strings.Contains(got, want) {
			lost++
			t.Errorf("invocation %s ended %s with outputs %s, error %q; want SUCCESS with %s", id, inv.Status.State, got, inv.Status.Error, want)
		}
	}
	recs := s.records(ids)
	early := 0
	for i, id := range ids {
		if !isPoll(i) {
			continue
		}
		rs := recs[id]
		for k := 1; k < len(rs); k++ {
			gap := time.Duration(rs[k].At - rs[k-1].At)
			// Poll times are stored with second precision, truncated.
			if gap < pollInterval*time.Second-time.Second {
				early++
				t.Errorf("invocation %s: execute %d came %s after execute %d, before the %ds interval", id, rs[k].InvokeCount, gap, rs[k-1].InvokeCount, pollInterval)
			}
			if due, ok := nextPoll[id]; ok && rs[k].InvokeCount == nextCount[id] && time.Unix(0, rs[k].At).Before(due) {
				early++
				t.Errorf("invocation %s: execute %d at %s, before the nextPollTime %s written before the kill", id, rs[k].InvokeCount, time.Unix(0, rs[k].At).Format(time.StampMilli), due.Format(time.StampMilli))
			}
		}
	}
	rep := repeated(recs)
	t.Logf("manager kill: %d invocations, %d lost, %d repeated executes, %d early, recovered in %s", n, lost, rep, early, recovered.Round(time.Millisecond))
	return row{fault: "manager kill -9 with invocations in POLL and CALLBACK", invocations: n, lost: lost, repeated: rep, early: early, recover: recovered}
}

// callback posts invocation inv's callback with data {"n": i} and checks
// that the shim recorded it.
func callback(s *stack, inv *bkv1.PluginInvocation, i int) error {
	var outs struct {
		CallbackURL string `json:"callback_url"`
	}
	if inv.Status.Outputs == nil || json.Unmarshal(inv.Status.Outputs.Raw, &outs) != nil || outs.CallbackURL == "" {
		return fmt.Errorf("invocation %s has no callback_url in its outputs", inv.Name)
	}
	path := strings.TrimPrefix(outs.CallbackURL, "http://"+s.shimAddr)
	s.tokensMu.Lock()
	s.tokens = append(s.tokens, strings.Trim(path[strings.LastIndex(strings.TrimSuffix(path, "/"), "/"):], "/"))
	s.tokensMu.Unlock()
	a := s.do(http.MethodPost, path, []byte(fmt.Sprintf(`{"n":%d}`, i)), nil)
	if a.err != nil || a.status != http.StatusOK || !a.env.Result {
		return fmt.Errorf("callback of %s: %d %s %v", inv.Name, a.status, a.raw, a.err)
	}
	return nil
}

// invokeUntilRecorded invokes with a client trace id, retrying transport
// failures and 503s with the same trace id, as a platform would, until the
// shim answers 200 for that trace id.
func invokeUntilRecorded(s *stack, code, id string, inputs any, async bool) error {
	var last string
	err := poll(3*time.Minute, 200*time.Millisecond, func() (bool, error) {
		a := s.invoke(code, id, inputs, async)
		switch {
		case a.err != nil:
			last = a.err.Error()
			return false, nil
		case a.status == http.StatusServiceUnavailable:
			last = a.env.Message
			return false, nil
		case a.status != http.StatusOK || !a.env.Result || a.env.TraceID != id:
			return false, fmt.Errorf("invoke %s: %d %s", id, a.status, a.raw)
		}
		return true, nil
	})
	if err != nil {
		return fmt.Errorf("invoke %s: %w (last: %s)", id, err, last)
	}
	return nil
}

// parallel runs fn(0..n-1) on workers goroutines and fails t with the
// first errors.
func parallel(t *testing.T, n, workers int, fn func(i int) error) {
	t.Helper()
	errs := parallelErrs(n, workers, fn)
	for i, err := range errs {
		if i == 5 {
			t.Errorf("... and %d more", len(errs)-5)
			break
		}
		t.Error(err)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
}

// parallelErrs runs fn(0..n-1) on workers goroutines and returns the errors.
func parallelErrs(n, workers int, fn func(i int) error) []error {
	work := make(chan int)
	var mu sync.Mutex
	var errs []error
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(i); err != nil {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	return errs
}

// shimKill invokes n times synchronously through the shim, 8 at a time,
// each with its own trace id and an execute that takes 300 ms, kills the
// shim with SIGKILL after a quarter have started, restarts it, and has every
// caller retry with the same trace id until answered. Each trace id must name
// exactly one invocation, executed once, ending SUCCESS. Recovery: kill to
// the restarted shim's readiness.
func shimKill(t *testing.T, s *stack, n int) row {
	ids := traceIDs(t, n)
	inputs := map[string]any{"mode": "sleep", "sleep_ms": 300, "batch": "shim-kill"}
	started := make(chan struct{}, n)
	killed := make(chan time.Duration, 1)
	go func() {
		for range n / 4 {
			<-started
		}
		s.shim.kill()
		at := time.Now()
		s.restartShim()
		killed <- time.Since(at)
	}()
	parallel(t, n, 8, func(i int) error {
		started <- struct{}{}
		if err := invokeUntilRecorded(s, "recorder", ids[i], inputs, false); err != nil {
			return err
		}
		return nil
	})
	recovered := <-killed

	final := s.waitAll(ids, 3*time.Minute, "terminal", func(inv *bkv1.PluginInvocation) bool { return inv.Status.State.Terminal() })
	// No invocation but ours was made for this batch: a retry that made a
	// second one would have had to invent a trace id.
	var extra int
	all, err := s.allInvocations()
	if err != nil {
		t.Fatal(err)
	}
	for _, inv := range all {
		if inv.Spec.Inputs != nil && strings.Contains(string(inv.Spec.Inputs.Raw), `"shim-kill"`) {
			if _, ours := final[inv.Name]; !ours {
				extra++
				t.Errorf("invocation %s of the shim-kill batch has a trace id no caller sent", inv.Name)
			}
		}
	}
	lost := extra
	for _, id := range ids {
		if inv := final[id]; inv.Status.State != bkv1.StateSuccess {
			lost++
			t.Errorf("invocation %s ended %s: %s", id, inv.Status.State, inv.Status.Error)
		}
	}
	recs := s.records(ids)
	for _, id := range ids {
		if len(recs[id]) == 0 {
			t.Errorf("invocation %s was never executed", id)
		}
	}
	rep := repeated(recs)
	if rep != 0 {
		t.Errorf("%d executes repeated after a shim kill: a retried invoke must never execute twice", rep)
	}
	return row{fault: "shim kill -9 during synchronous invokes, clients retry", invocations: n, lost: lost, repeated: rep, early: -1, recover: recovered}
}
