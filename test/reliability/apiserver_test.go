//go:build envtest

package reliability

import (
	"fmt"
	"net/http"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/stackrun"
)

// apiServerRestart invokes n times through the shim, 8 at a time, each
// retrying 503s and transport failures with its own trace id, and stops
// kube-apiserver after a third have started. While it is down the shim must
// answer invokes 503 with the envelope and a message naming the Kubernetes
// API (never 500); once it is started again the shim and the manager must
// recover by themselves, and every invocation end SUCCESS. Recovery: from
// the API server's start to the first invoke the shim accepts.
func apiServerRestart(t *testing.T, s *stack, n int) row {
	ids := traceIDs(t, n)
	inputs := map[string]any{"mode": "sleep", "sleep_ms": 100, "batch": "apiserver-restart"}
	api := s.env.ControlPlane.APIServer
	started := make(chan struct{}, n)
	var outage503, outage500 atomic.Int64
	type restartResult struct {
		recovered time.Duration
		probeID   string
		err       string
	}
	done := make(chan restartResult, 1)
	go func() {
		for range n / 3 {
			<-started
		}
		stopAt := time.Now()
		// kill -9, as a crashed or evicted API server: a graceful stop
		// waits for the clients' watches and takes minutes on a busy host.
		if err := killChild("kube-apiserver"); err != nil {
			done <- restartResult{err: err.Error()}
			return
		}
		if err := api.Stop(); err != nil {
			done <- restartResult{err: "stop kube-apiserver: " + err.Error()}
			return
		}
		// While it is down: an invoke cannot be recorded, so 503.
		var msg string
		_ = poll(30*time.Second, 200*time.Millisecond, func() (bool, error) {
			a := s.invoke("recorder", randomHex(t, 16), inputs, true)
			switch {
			case a.status == http.StatusInternalServerError:
				outage500.Add(1)
			case a.status == http.StatusServiceUnavailable && a.err == nil && !a.env.Result && strings.Contains(a.env.Message, "Kubernetes API"):
				outage503.Add(1)
				msg = a.env.Message
			}
			return outage503.Load() >= 3, nil
		})
		t.Logf("kube-apiserver stopped in %s; meanwhile the shim answered 503: %q", time.Since(stopAt).Round(time.Millisecond), msg)
		startAt := time.Now()
		if err := api.Start(); err != nil {
			done <- restartResult{err: "start kube-apiserver: " + err.Error()}
			return
		}
		up := time.Now()
		t.Logf("kube-apiserver started again in %s", up.Sub(startAt).Round(time.Millisecond))
		probe := randomHex(t, 16)
		if err := invokeUntilRecorded(s, "recorder", probe, inputs, true); err != nil {
			done <- restartResult{err: "shim did not recover: " + err.Error()}
			return
		}
		done <- restartResult{recovered: time.Since(up), probeID: probe}
	}()
	errs := parallelErrs(n, 8, func(i int) error {
		started <- struct{}{}
		return invokeUntilRecorded(s, "recorder", ids[i], inputs, false)
	})
	res := <-done
	if res.err != "" {
		t.Fatal(res.err)
	}
	for _, err := range errs {
		t.Error(err)
	}
	if outage503.Load() == 0 {
		t.Errorf("the shim never answered 503 with the envelope while kube-apiserver was down")
	}
	if outage500.Load() > 0 {
		t.Errorf("the shim answered 500 %d times while kube-apiserver was down; want 503", outage500.Load())
	}
	ids = append(ids, res.probeID)
	final := s.waitAll(ids, 5*time.Minute, "terminal", func(inv *bkv1.PluginInvocation) bool { return inv.Status.State.Terminal() })
	lost := 0
	for _, id := range ids {
		if inv := final[id]; inv.Status.State != bkv1.StateSuccess {
			lost++
			t.Errorf("invocation %s ended %s: %s", id, inv.Status.State, inv.Status.Error)
		}
	}
	rep := repeated(s.records(ids))
	return row{fault: "kube-apiserver restarted under load", invocations: len(ids), lost: lost, repeated: rep, early: -1, recover: res.recovered}
}

// killChild sends SIGKILL to this process's child named comm: envtest does
// not tell its processes' PIDs, /proc does.
func killChild(comm string) error {
	children, err := stackrun.ChildProcesses()
	if err != nil {
		return err
	}
	for pid, name := range children {
		if name == comm {
			return syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	return fmt.Errorf("no child process %s", comm)
}
