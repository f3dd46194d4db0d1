//go:build envtest

package invocation_test

import (
	"net/http/httptest"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// Retries under a version's limits (issue 17): an invocation waiting out
// the backoff before its next attempt is still active (it keeps its slot of
// maxActiveInvocations, so that a cap on active invocations holds whatever
// their retries), but it executes nothing, so it holds no execute slot of
// maxExecutesInFlight.

// registerFlakyLimited registers the flaky plugin's version at url with a
// retry policy and limits, and waits until it is Ready.
func registerFlakyLimited(ns, url string, policy *bkv1.RetryPolicy, limits *bkv1.ExecutionLimits) {
	GinkgoHelper()
	plvs, err := manifest.PluginVersions(flakyPlugin(), manifest.Options{Namespace: ns, URL: url})
	Expect(err).NotTo(HaveOccurred())
	for i := range plvs {
		plvs[i].Spec.Retry, plvs[i].Spec.Limits = policy, limits
		Expect(k8sClient.Create(suiteCtx, &plvs[i])).To(Succeed())
	}
	suite.WaitReady(plvs)
}

// inBackoff waits until inv's first attempt failed and its second waits
// for its backoff, and returns it as it is then.
func inBackoff(inv *bkv1.PluginInvocation) *bkv1.PluginInvocation {
	GinkgoHelper()
	var got *bkv1.PluginInvocation
	Eventually(func(g Gomega) {
		got = get(inv)
		g.Expect(got.Status.Attempt).To(Equal(int32(2)), "status: %+v", got.Status)
		g.Expect(got.Status.NextAttemptTime).NotTo(BeNil())
	}).WithPolling(20 * time.Millisecond).Should(Succeed())
	return got
}

// firstOfAttempt is when the pod served attempt n of traceID first.
func firstOfAttempt(pod *attemptPod, traceID string, n int) (time.Time, bool) {
	for _, r := range pod.executes(traceID) {
		if r.Attempt == n {
			return r.At, true
		}
	}
	return time.Time{}, false
}

var _ = Describe("Retries under limits", func() {
	var ns string
	BeforeEach(func() { ns = suite.NewNamespace() })

	It("keeps a retrying invocation's active slot through its backoff: the next waits Queued", func() {
		pod := newAttemptPod(server.Handler(flakyPlugin()), 0)
		srv := httptest.NewServer(pod)
		DeferCleanup(srv.Close)
		registerFlakyLimited(ns, srv.URL, retryPolicy(1, 3), &bkv1.ExecutionLimits{MaxActiveInvocations: ptr.To[int32](1)})

		// a fails its first attempt and succeeds on its second; b would
		// succeed at once, but may only start when a is finished. b has
		// the higher priority, so that it would go first were a's slot
		// given up for the backoff and a queued again.
		a := invoke(ns, flakyCode, "1.0.0", `{"fail_until":2}`, named(seq(1)))
		Eventually(func() int { return len(pod.executes(a.Name)) }).Should(BeNumerically(">=", 1))
		b := invoke(ns, flakyCode, "1.0.0", `{"fail_until":1}`, named(seq(2)), func(i *bkv1.PluginInvocation) { i.Spec.Priority = 10 })

		waiting := inBackoff(a)
		Expect(waiting.Status.State).To(Equal(bkv1.StateEmpty))
		Expect(waiting.Status.InvokeCount).To(BeZero())
		// Through a's backoff b stays Queued at the head of the queue and
		// the pod sees none of it.
		Eventually(func(g Gomega) {
			got := get(b)
			g.Expect(apimeta.IsStatusConditionTrue(got.Status.Conditions, bkv1.ConditionQueued)).To(BeTrue(), "b: %+v", got.Status)
		}).Should(Succeed())
		if left := time.Until(waiting.Status.NextAttemptTime.Time) - 300*time.Millisecond; left > 0 {
			Consistently(func(g Gomega) {
				got := get(b)
				g.Expect(apimeta.IsStatusConditionTrue(got.Status.Conditions, bkv1.ConditionQueued)).To(BeTrue(), "b: %+v", got.Status)
				g.Expect(pod.executes(b.Name)).To(BeEmpty())
			}).WithTimeout(left).WithPolling(100 * time.Millisecond).Should(Succeed())
		}

		done := waitState(a, bkv1.StateSuccess)
		Expect(done.Status.Attempt).To(Equal(int32(2)))
		waitState(b, bkv1.StateSuccess)
		// b's first execute came after a's last: one active at a time,
		// the backoff included.
		aExecs, bExecs := pod.executes(a.Name), pod.executes(b.Name)
		Expect(aExecs).NotTo(BeEmpty())
		Expect(bExecs).NotTo(BeEmpty())
		Expect(bExecs[0].At).To(BeTemporally(">=", aExecs[len(aExecs)-1].At))
	})

	It("holds no execute slot through a backoff: another invocation executes meanwhile", func() {
		pod := newAttemptPod(server.Handler(flakyPlugin()), 0)
		srv := httptest.NewServer(pod)
		DeferCleanup(srv.Close)
		registerFlakyLimited(ns, srv.URL, retryPolicy(1, 4), &bkv1.ExecutionLimits{MaxExecutesInFlight: ptr.To[int32](1)})

		a := invoke(ns, flakyCode, "1.0.0", `{"fail_until":2}`, named(seq(1)))
		waiting := inBackoff(a)
		// b comes while a waits its 4 s backoff, and executes before a's
		// second attempt starts: had a kept the version's only execute
		// slot through its backoff, b's first execute would follow it.
		b := invoke(ns, flakyCode, "1.0.0", `{"fail_until":1}`, named(seq(2)))
		waitState(b, bkv1.StateSuccess)
		waitState(a, bkv1.StateSuccess)
		second, ok := firstOfAttempt(pod, a.Name, 2)
		Expect(ok).To(BeTrue(), "a's second attempt was never executed")
		bExecs := pod.executes(b.Name)
		Expect(bExecs).NotTo(BeEmpty())
		Expect(bExecs[0].At).To(BeTemporally("<", second), "b executed while a waited out its backoff")
		Expect(second).To(BeTemporally(">=", waiting.Status.NextAttemptTime.Time.Add(-time.Second)),
			"a's second attempt waited for its backoff (status keeps whole seconds)")
	})
})
