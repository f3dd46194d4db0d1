//go:build envtest

package invocation_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// flaky is a plugin written for the retry specs: it fails every attempt
// before failUntil (after a poll, so that an attempt has more than one
// execute and storage to lose), and succeeds on that attempt, reporting
// what it saw of its context.
const flakyCode = "flaky"

type flakyInputs struct {
	FailUntil int `json:"fail_until"`
}

type flakyOutputs struct {
	Attempt       int  `json:"attempt"`
	InvokeCount   int  `json:"invoke_count"`
	StorageWasNew bool `json:"storage_was_new"`
}

func flakyPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: flakyCode, Description: "Test plugin: fails until an attempt number."})
	plugin.MustAddVersion(p, plugin.Version[flakyInputs, plugin.None, flakyOutputs]{
		Version: "1.0.0",
		Execute: func(ctx *plugin.Context[flakyInputs, plugin.None, flakyOutputs]) error {
			if ctx.State == plugin.StateEmpty {
				// Each attempt starts clean: nothing an earlier attempt
				// stored is seen here.
				var seen int
				found, err := ctx.Storage.Get("attempt", &seen)
				if err != nil {
					return err
				}
				ctx.Outputs.StorageWasNew = !found
				if err := ctx.Storage.Set("attempt", ctx.Attempt); err != nil {
					return err
				}
				ctx.WaitPoll(100 * time.Millisecond)
				return nil
			}
			ctx.Outputs.Attempt, ctx.Outputs.InvokeCount = ctx.Attempt, ctx.InvokeCount
			if ctx.Attempt < ctx.Inputs.FailUntil {
				return fmt.Errorf("attempt %d fails", ctx.Attempt)
			}
			return nil
		},
	})
	return p
}

// registerWithRetry registers the plugin's versions at url with policy as
// their spec.retry, and waits until they are Ready.
func registerWithRetry(ns string, p *plugin.Plugin, url string, policy *bkv1.RetryPolicy) {
	GinkgoHelper()
	plvs, err := manifest.PluginVersions(p, manifest.Options{Namespace: ns, URL: url})
	Expect(err).NotTo(HaveOccurred())
	for i := range plvs {
		plvs[i].Spec.Retry = policy
		Expect(k8sClient.Create(suiteCtx, &plvs[i])).To(Succeed())
	}
	suite.WaitReady(plvs)
}

func retryPolicy(limit, initial int32, on ...bkv1.RetryOn) *bkv1.RetryPolicy {
	return &bkv1.RetryPolicy{Limit: limit, RetryOn: on, Backoff: &bkv1.RetryBackoff{
		InitialSeconds: ptr.To(initial), Factor: ptr.To[int32](2), MaxDelaySeconds: ptr.To[int32](30), JitterPercent: ptr.To[int32](0)}}
}

// attemptsOf lists the executes of traceID as "attempt/invoke_count".
func attemptsOf(pod *attemptPod, traceID string) []string {
	var out []string
	for _, r := range pod.executes(traceID) {
		out = append(out, fmt.Sprintf("%d/%d", r.Attempt, r.InvokeCount))
	}
	return out
}

var _ = Describe("Retries", func() {
	var ns string
	BeforeEach(func() { ns = suite.NewNamespace() })

	It("retries a plugin FAIL with exponential backoff from a clean state, then ends SUCCESS", func() {
		pod := newAttemptPod(server.Handler(flakyPlugin()), 0)
		srv := httptest.NewServer(pod)
		DeferCleanup(srv.Close)
		suite.WaitReady(suite.RegisterVersions(ns, flakyPlugin(), srv.URL))

		inv := invoke(ns, flakyCode, "1.0.0", `{"fail_until":3}`, func(i *bkv1.PluginInvocation) {
			i.Spec.Retry = retryPolicy(3, 2)
		})

		// Between attempts 1 and 2: the backoff is in status.
		var waiting *bkv1.PluginInvocation
		Eventually(func(g Gomega) {
			waiting = get(inv)
			g.Expect(waiting.Status.Attempt).To(Equal(int32(2)))
			g.Expect(waiting.Status.NextAttemptTime).NotTo(BeNil())
		}).WithPolling(20 * time.Millisecond).Should(Succeed())
		Expect(waiting.Status.State).To(Equal(bkv1.StateEmpty))
		Expect(waiting.Status.InvokeCount).To(BeZero())
		Expect(waiting.Status.Storage).To(BeNil())
		Expect(succeededCondition(waiting).Reason).To(Equal(bkv1.ReasonRetryScheduled))
		first := waiting.Status.Attempts[0]
		Expect(first.RetryDelayMilliseconds).To(HaveValue(Equal(int64(2000))))
		// Status keeps whole seconds: completion is rounded down and the
		// next start up, so the scheduled wait reads 2 or 3 seconds.
		scheduled := waiting.Status.NextAttemptTime.Time
		Expect(scheduled.Sub(first.CompletionTime.Time)).To(BeNumerically(">=", 2*time.Second))
		Expect(scheduled.Sub(first.CompletionTime.Time)).To(BeNumerically("<=", 3*time.Second))

		got := waitState(inv, bkv1.StateSuccess)
		Expect(got.Status.Attempt).To(Equal(int32(3)))
		Expect(outputs(got)).To(HaveKeyWithValue("attempt", BeNumerically("==", 3)))
		Expect(outputs(got)).To(HaveKeyWithValue("invoke_count", BeNumerically("==", 2)), "each attempt starts a new invoke count")
		Expect(outputs(got)).To(HaveKeyWithValue("storage_was_new", true), "each attempt starts from empty storage")
		Expect(got.Status.NextAttemptTime).To(BeNil())
		Expect(got.Status.AttemptStartTime).NotTo(BeNil())

		a := got.Status.Attempts
		Expect(a).To(HaveLen(3))
		for i, want := range []struct {
			state  bkv1.InvocationState
			reason string
			delay  *int64
		}{
			{bkv1.StateFail, bkv1.ReasonPluginFailed, ptr.To[int64](2000)},
			{bkv1.StateFail, bkv1.ReasonPluginFailed, ptr.To[int64](4000)},
			{bkv1.StateSuccess, bkv1.ReasonSucceeded, nil},
		} {
			Expect(a[i].Attempt).To(Equal(int32(i + 1)))
			Expect(a[i].State).To(Equal(want.state), "attempt %d", i+1)
			Expect(a[i].Reason).To(Equal(want.reason), "attempt %d", i+1)
			Expect(a[i].InvokeCount).To(Equal(int32(2)), "attempt %d", i+1)
			Expect(a[i].RetryDelayMilliseconds).To(Equal(want.delay), "attempt %d", i+1)
		}
		Expect(a[0].Error).To(Equal("attempt 1 fails"))
		Expect(a[1].Error).To(Equal("attempt 2 fails"))

		// The plugin pod saw the attempts and a new invoke count in each,
		// and no attempt started before the time status scheduled.
		Expect(attemptsOf(pod, inv.Name)).To(Equal([]string{"1/1", "1/2", "2/1", "2/2", "3/1", "3/2"}))
		ex := pod.executes(inv.Name)
		Expect(ex[2].At).NotTo(BeTemporally("<", scheduled), "attempt 2 started before status.nextAttemptTime")
		Expect(ex[4].At.Sub(ex[3].At)).To(BeNumerically(">=", 4*time.Second), "attempt 3 waited the doubled backoff")
		Eventually(eventReasons(ns, inv)).Should(ContainElement(bkv1.EventReasonRetrying))
	})

	It("retries a transport failure under the version's policy", func() {
		// The pod answers 503 to every execute of attempt 1, so that the
		// attempt ends PluginUnreachable once the transport budget is spent.
		pod := newAttemptPod(server.Handler(helloplugin.Plugin()), 1)
		srv := httptest.NewServer(pod)
		DeferCleanup(srv.Close)
		registerWithRetry(ns, helloplugin.Plugin(), srv.URL, retryPolicy(2, 1, bkv1.RetryOnTransport))

		inv := invoke(ns, "hello", "1.0.0", `{"name":"again"}`)
		got := waitState(inv, bkv1.StateSuccess)
		Expect(outputs(got)).To(HaveKeyWithValue("greeting", "Hello, again!"))
		Expect(got.Status.Attempt).To(Equal(int32(2)))
		Expect(got.Status.Attempts).To(HaveLen(2))
		Expect(got.Status.Attempts[0].Reason).To(Equal(bkv1.ReasonUnreachable))
		Expect(got.Status.Attempts[0].Error).To(ContainSubstring("HTTP 503"))
		Expect(got.Status.Attempts[1].State).To(Equal(bkv1.StateSuccess))
		Expect(pod.refused.Load()).To(BeNumerically(">=", 2), "attempt 1 met the transport retries first")
	})

	It("ends FAIL once the limit is spent, with every attempt recorded in status and the archive", func() {
		srv := httptest.NewServer(server.Handler(flakyPlugin()))
		DeferCleanup(srv.Close)
		suite.WaitReady(suite.RegisterVersions(ns, flakyPlugin(), srv.URL))

		inv := invoke(ns, flakyCode, "1.0.0", `{"fail_until":99}`, func(i *bkv1.PluginInvocation) {
			i.Spec.Retry = retryPolicy(2, 0)
		})
		got := waitState(inv, bkv1.StateFail)
		Expect(got.Status.Error).To(Equal("attempt 3 fails"))
		Expect(got.Status.Attempt).To(Equal(int32(3)))
		Expect(got.Status.Attempts).To(HaveLen(3))
		for i, a := range got.Status.Attempts {
			Expect(a.State).To(Equal(bkv1.StateFail))
			Expect(a.Error).To(Equal(fmt.Sprintf("attempt %d fails", i+1)))
		}
		Expect(got.Status.Attempts[2].RetryDelayMilliseconds).To(BeNil(), "the last attempt schedules nothing")
		Expect(succeededCondition(got).Reason).To(Equal(bkv1.ReasonPluginFailed))
		Eventually(eventReasons(ns, inv)).Should(ContainElements(bkv1.EventReasonRetrying, "Failed"))

		var rec archive.Record
		Eventually(func() error {
			var err error
			rec, err = suiteArchive.Get(suiteCtx, archive.Key{Namespace: ns, TraceID: inv.Name})
			return err
		}).Should(Succeed())
		var archived []bkv1.AttemptStatus
		Expect(json.Unmarshal(rec.Attempts, &archived)).To(Succeed(), string(rec.Attempts))
		Expect(archived).To(HaveLen(3))
		Expect(archived[0].Error).To(Equal("attempt 1 fails"))
	})

	It("lets an invocation's own policy override its version's", func() {
		srv := httptest.NewServer(server.Handler(flakyPlugin()))
		DeferCleanup(srv.Close)
		registerWithRetry(ns, flakyPlugin(), srv.URL, retryPolicy(3, 0, bkv1.RetryOnPluginFailed))

		byVersion := invoke(ns, flakyCode, "1.0.0", `{"fail_until":2}`)
		noRetry := invoke(ns, flakyCode, "1.0.0", `{"fail_until":2}`, func(i *bkv1.PluginInvocation) {
			i.Spec.Retry = &bkv1.RetryPolicy{Limit: 0}
		})
		onlyTransport := invoke(ns, flakyCode, "1.0.0", `{"fail_until":2}`, func(i *bkv1.PluginInvocation) {
			i.Spec.Retry = retryPolicy(3, 0, bkv1.RetryOnTransport)
		})

		got := waitState(byVersion, bkv1.StateSuccess)
		Expect(got.Status.Attempt).To(Equal(int32(2)))
		for _, inv := range []*bkv1.PluginInvocation{noRetry, onlyTransport} {
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(Equal("attempt 1 fails"))
			Expect(got.Status.Attempt).To(BeNumerically("<=", 1))
			Expect(got.Status.Attempts).To(HaveLen(1))
		}
	})
})

// attemptPod serves a plugin, records each execute with its attempt, and
// answers 503 to every execute of the attempts up to refuseThrough.
type attemptPod struct {
	recordingPod
	refuseThrough int
	refused       atomic.Int64
}

func newAttemptPod(h http.Handler, refuseThrough int) *attemptPod {
	return &attemptPod{recordingPod: recordingPod{handler: h}, refuseThrough: refuseThrough}
}

func (p *attemptPod) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, protocol.ExecutePathPrefix) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var req protocol.ExecuteRequest
		if json.Unmarshal(body, &req) == nil && max(req.Attempt, 1) <= p.refuseThrough {
			p.refused.Add(1)
			http.Error(w, "warming up", http.StatusServiceUnavailable)
			return
		}
	}
	p.recordingPod.ServeHTTP(w, r)
}
