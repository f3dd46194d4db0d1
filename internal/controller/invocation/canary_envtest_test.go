//go:build envtest

package invocation_test

import (
	"errors"
	"net/http/httptest"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// These specs run issue 20's registration rules and canary through the
// manager: the version reconciler marks a breaking version
// Compatible=False and judges a canary from the outcomes the invocation
// reconciler counts; both resolve with internal/versions.

// strictInputs are 1.2.0's inputs; 1.3.0 and 2.0.0 make name required.
type strictInputs struct {
	Name string `json:"name,omitempty"`
}

type strictRequired struct {
	Name string `json:"name"`
}

// strictPlugin has a breaking 1.3.0 (a new required input) and the same
// change as 2.0.0, a new major.
func strictPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "strict", Description: "Test plugin: 1.3.0 breaks 1.2.0's callers."})
	ok := func(*plugin.Context[strictInputs, plugin.None, plugin.None]) error { return nil }
	okRequired := func(*plugin.Context[strictRequired, plugin.None, plugin.None]) error { return nil }
	plugin.MustAddVersion(p, plugin.Version[strictInputs, plugin.None, plugin.None]{Version: "1.2.0", Execute: ok})
	plugin.MustAddVersion(p, plugin.Version[strictRequired, plugin.None, plugin.None]{Version: "1.3.0", Execute: okRequired})
	plugin.MustAddVersion(p, plugin.Version[strictRequired, plugin.None, plugin.None]{Version: "2.0.0", Execute: okRequired})
	return p
}

// canaryFlakyPlugin's 1.3.0 fails every invocation; 1.2.0, with the same
// schemas, succeeds.
func canaryFlakyPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "flaky", Description: "Test plugin: 1.3.0 always fails."})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "1.2.0",
		Execute: func(*plugin.Context[plugin.None, plugin.None, plugin.None]) error { return nil }})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{Version: "1.3.0",
		Execute: func(*plugin.Context[plugin.None, plugin.None, plugin.None]) error {
			return errors.New("1.3.0 is broken")
		}})
	return p
}

// pluginVersion reads the PluginVersion of code and version in ns.
func pluginVersion(ns string, plvs []bkv1.PluginVersion, version string) *bkv1.PluginVersion {
	GinkgoHelper()
	for i := range plvs {
		if plvs[i].Spec.Version == version {
			got := &bkv1.PluginVersion{}
			Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(&plvs[i]), got)).To(Succeed())
			return got
		}
	}
	Fail("no PluginVersion " + version)
	return nil
}

// traceIDsFor returns n fresh trace ids that canary plv takes (in) or
// leaves to the previous version (!in), as versions.InCanary decides.
func traceIDsFor(plv *bkv1.PluginVersion, in bool, n int) []string {
	GinkgoHelper()
	var ids []string
	for len(ids) < n {
		if id := newTraceID(); versions.InCanary(plv, id) == in {
			ids = append(ids, id)
		}
	}
	return ids
}

var _ = Describe("Versions that cannot break their callers (issue 20)", func() {
	It("marks a breaking same-major version Compatible=False, which ^1.2 skips, while 2.0.0 is compatible", func() {
		ns := suite.NewNamespace()
		pod := httptest.NewServer(server.Handler(strictPlugin()))
		DeferCleanup(pod.Close)
		plvs := suite.RegisterVersions(ns, strictPlugin(), pod.URL)
		suite.WaitReady(plvs)

		Eventually(func(g Gomega) {
			v13 := pluginVersion(ns, plvs, "1.3.0")
			c := apimeta.FindStatusCondition(v13.Status.Conditions, bkv1.ConditionCompatible)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(bkv1.VersionReasonBreaking))
			g.Expect(c.Message).To(ContainSubstring("inputs.name: required-added"))
			g.Expect(c.Message).To(ContainSubstring("1.2.0"))
		}).Should(Succeed())
		for _, v := range []string{"1.2.0", "2.0.0"} {
			Eventually(func() metav1.ConditionStatus {
				c := apimeta.FindStatusCondition(pluginVersion(ns, plvs, v).Status.Conditions, bkv1.ConditionCompatible)
				if c == nil {
					return ""
				}
				return c.Status
			}).Should(Equal(metav1.ConditionTrue), "version %s", v)
		}
		// A served version records when it was first Ready: its contract
		// is immutable from then on (the webhook's rule).
		Expect(pluginVersion(ns, plvs, "1.2.0").Status.ServedSince).NotTo(BeNil())

		byRange := waitState(invoke(ns, "strict", "^1.2", `{}`), bkv1.StateSuccess)
		Expect(byRange.Status.ResolvedVersion).To(Equal("1.2.0"), "^1.2 must skip the breaking 1.3.0")
		exact := waitState(invoke(ns, "strict", "1.3.0", `{"name":"x"}`), bkv1.StateSuccess)
		Expect(exact.Status.ResolvedVersion).To(Equal("1.3.0"), "an exact version is resolved even when breaking")
		major := waitState(invoke(ns, "strict", "^2", `{"name":"x"}`), bkv1.StateSuccess)
		Expect(major.Status.ResolvedVersion).To(Equal("2.0.0"))
	})

	It("sends a canary its share by trace id and rolls it back when its FAIL rate passes the threshold", func() {
		ns := suite.NewNamespace()
		pod := httptest.NewServer(server.Handler(canaryFlakyPlugin()))
		DeferCleanup(pod.Close)
		plvs := suite.RegisterVersions(ns, canaryFlakyPlugin(), pod.URL, "1.2.0")
		suite.WaitReady(plvs)
		canaryPLVs := suite.RegisterVersions(ns, canaryFlakyPlugin(), pod.URL, "1.3.0")
		plvs = append(plvs, canaryPLVs...)
		v13 := pluginVersion(ns, plvs, "1.3.0")
		orig := v13.DeepCopy()
		v13.Spec.Canary = &bkv1.CanarySpec{Weight: 50, FailureThresholdPercent: 50,
			Window: &metav1.Duration{Duration: 5 * time.Minute}, MinSamples: 10}
		// A merge patch: the version reconciler writes the status meanwhile.
		Expect(k8sClient.Patch(suiteCtx, v13, client.MergeFrom(orig))).To(Succeed())
		suite.WaitReady(canaryPLVs)
		Eventually(func() string {
			if st := pluginVersion(ns, plvs, "1.3.0").Status.Canary; st != nil {
				return st.State
			}
			return ""
		}).Should(Equal(bkv1.CanaryStateActive))

		// 1. Five trace ids the canary takes and five it leaves: each goes
		// where the hash says; five failures are below MinSamples.
		in := traceIDsFor(v13, true, 10)
		out := traceIDsFor(v13, false, 5)
		var first []*bkv1.PluginInvocation
		for _, id := range in[:5] {
			first = append(first, invoke(ns, "flaky", "^1.2", `{}`, named(id)))
		}
		for _, id := range out {
			first = append(first, invoke(ns, "flaky", "^1.2", `{}`, named(id)))
		}
		for i, inv := range first {
			if i < 5 {
				Expect(waitState(inv, bkv1.StateFail).Status.ResolvedVersion).To(Equal("1.3.0"), "trace id %s is in the canary's share", inv.Name)
			} else {
				Expect(waitState(inv, bkv1.StateSuccess).Status.ResolvedVersion).To(Equal("1.2.0"), "trace id %s is outside the canary's share", inv.Name)
			}
		}
		Eventually(func(g Gomega) {
			st := pluginVersion(ns, plvs, "1.3.0").Status.Canary
			g.Expect(st).NotTo(BeNil())
			g.Expect(st.State).To(Equal(bkv1.CanaryStateActive))
			g.Expect([]int32{st.Samples, st.Failures}).To(Equal([]int32{5, 5}))
		}).Should(Succeed())

		// 2. Five more failures reach MinSamples at a 100% FAIL rate: the
		// manager rolls the canary back, says why, and tells with an event.
		for _, id := range in[5:] {
			waitState(invoke(ns, "flaky", "^1.2", `{}`, named(id)), bkv1.StateFail)
		}
		Eventually(func(g Gomega) {
			got := pluginVersion(ns, plvs, "1.3.0")
			g.Expect(got.Status.Canary).NotTo(BeNil())
			g.Expect(got.Status.Canary.State).To(Equal(bkv1.CanaryStateRolledBack))
			g.Expect(got.Status.Canary.Message).To(ContainSubstring("FAIL rate 100% (10 of 10"))
			c := apimeta.FindStatusCondition(got.Status.Conditions, bkv1.ConditionCanary)
			g.Expect(c).NotTo(BeNil())
			g.Expect(c.Status).To(Equal(metav1.ConditionFalse))
			g.Expect(c.Reason).To(Equal(bkv1.CanaryStateRolledBack))
		}).Should(Succeed())
		Eventually(func(g Gomega) []string {
			var list eventsv1.EventList
			g.Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
			var reasons []string
			for _, e := range list.Items {
				if e.Regarding.Name == v13.Name {
					reasons = append(reasons, e.Reason)
				}
			}
			return reasons
		}).Should(ContainElement("CanaryRolledBack"))

		// 3. Trace ids the canary would take now go to 1.2.0, for the
		// manager and for anyone resolving from the versions' status (the
		// shim uses the same versions.Resolve).
		var list bkv1.PluginVersionList
		Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
		for _, id := range traceIDsFor(v13, true, 5) {
			got, err := versions.Resolve(list.Items, versions.Request{Plugin: "flaky", Version: "^1.2", TraceID: id})
			Expect(err).NotTo(HaveOccurred())
			Expect(got.Spec.Version).To(Equal("1.2.0"))
			inv := waitState(invoke(ns, "flaky", "^1.2", `{}`, named(id)), bkv1.StateSuccess)
			Expect(inv.Status.ResolvedVersion).To(Equal("1.2.0"), "a rolled-back canary takes no share")
		}
	})
})
