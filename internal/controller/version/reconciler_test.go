//go:build envtest

package version_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync/atomic"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/controller/version"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/manifest"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// readyOf returns the Ready condition of the PluginVersion, or nil, and the
// object as last read.
func readyOf(g Gomega, key client.ObjectKey) (*metav1.Condition, *bkv1.PluginVersion) {
	got := &bkv1.PluginVersion{}
	g.Expect(k8sClient.Get(suiteCtx, key, got)).To(Succeed())
	return meta.FindStatusCondition(got.Status.Conditions, bkv1.ConditionReady), got
}

// expectReady waits until the version's Ready condition has status and
// reason and its message contains each of contains.
func expectReady(key client.ObjectKey, status metav1.ConditionStatus, reason string, contains ...string) *bkv1.PluginVersion {
	GinkgoHelper()
	var last *bkv1.PluginVersion
	Eventually(func(g Gomega) {
		c, got := readyOf(g, key)
		last = got
		g.Expect(c).NotTo(BeNil(), "PluginVersion %s has no Ready condition", key)
		g.Expect(c.Status).To(Equal(status), "Ready of %s: %+v", key, c)
		g.Expect(c.Reason).To(Equal(reason), "Ready of %s: %+v", key, c)
		for _, s := range contains {
			g.Expect(c.Message).To(ContainSubstring(s))
		}
		g.Expect(c.ObservedGeneration).To(Equal(got.Generation))
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	}).Should(Succeed())
	return last
}

// expectEvent waits for an events.k8s.io event of reason about the object.
func expectEvent(obj client.Object, eventType, reason string, noteContains string) {
	GinkgoHelper()
	Eventually(func(g Gomega) {
		var list eventsv1.EventList
		g.Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(obj.GetNamespace()))).To(Succeed())
		g.Expect(list.Items).To(ContainElement(And(
			HaveField("Regarding.Kind", "PluginVersion"),
			HaveField("Regarding.Name", obj.GetName()),
			HaveField("Regarding.UID", obj.GetUID()),
			HaveField("Type", eventType),
			HaveField("Reason", reason),
			HaveField("Note", ContainSubstring(noteContains)),
		)))
	}).Should(Succeed())
}

var _ = Describe("PluginVersion controller", func() {
	It("makes the versions a plugin pod serves Ready, with their endpoint URL, and says so in events", func() {
		ns := suite.NewNamespace()
		plvs := suite.RegisterVersions(ns, helloplugin.Plugin(), helloPod.URL+"/", "1.0.0", "1.1.0")
		Expect(plvs).To(HaveLen(2))
		suite.WaitReady(plvs)
		for i := range plvs {
			got := expectReady(client.ObjectKeyFromObject(&plvs[i]), metav1.ConditionTrue, bkv1.VersionReasonServing,
				"serves version "+plvs[i].Spec.Version)
			Expect(got.Status.EndpointURL).To(Equal(helloPod.URL), "trailing slash trimmed")
			expectEvent(got, "Normal", version.EventReasonVersionReady, helloPod.URL)
		}
	})

	It("reports a plugin pod that cannot be reached as Unreachable, naming the URL", func() {
		ns := suite.NewNamespace()
		gone := httptest.NewServer(http.NotFoundHandler())
		gone.Close()
		plv := suite.RegisterVersions(ns, helloplugin.Plugin(), gone.URL, "1.0.0")[0]
		got := expectReady(client.ObjectKeyFromObject(&plv), metav1.ConditionFalse, bkv1.VersionReasonUnreachable,
			gone.URL+"/bk_plugin/detail/1.0.0")
		Expect(got.Status.EndpointURL).To(Equal(gone.URL))
		expectEvent(got, "Warning", version.EventReasonVersionNotReady, bkv1.VersionReasonUnreachable)
	})

	It("probes versions again, Ready or not, and follows their pod with no change to the object", func() {
		ns := suite.NewNamespace()
		var up atomic.Bool
		hello := server.Handler(helloplugin.Plugin())
		pod := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if !up.Load() {
				http.Error(w, "starting", http.StatusServiceUnavailable)
				return
			}
			hello.ServeHTTP(w, r)
		}))
		DeferCleanup(pod.Close)
		plv := suite.RegisterVersions(ns, helloplugin.Plugin(), pod.URL, "1.0.0")[0]
		key := client.ObjectKeyFromObject(&plv)
		expectReady(key, metav1.ConditionFalse, bkv1.VersionReasonUnreachable, "503", "starting")

		up.Store(true)
		got := expectReady(key, metav1.ConditionTrue, bkv1.VersionReasonServing)
		Expect(got.Generation).To(Equal(int64(1)))
		expectEvent(got, "Normal", version.EventReasonVersionReady, pod.URL)

		// A Ready version is probed again at the probe interval.
		up.Store(false)
		got = expectReady(key, metav1.ConditionFalse, bkv1.VersionReasonUnreachable, "503")
		Expect(got.Generation).To(Equal(int64(1)))
	})

	It("reports a version the plugin pod does not serve as VersionNotServed", func() {
		ns := suite.NewNamespace()
		plv := suite.RegisterVersions(ns, helloplugin.Plugin(), helloPod.URL, "1.0.0")[0]
		suite.WaitReady([]bkv1.PluginVersion{plv})

		missing := &bkv1.PluginVersion{
			ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "hello-9-9-9"},
			Spec:       *plv.Spec.DeepCopy(),
		}
		missing.Spec.Version = "9.9.9"
		Expect(k8sClient.Create(suiteCtx, missing)).To(Succeed())
		expectReady(client.ObjectKeyFromObject(missing), metav1.ConditionFalse, bkv1.VersionReasonNotServed,
			helloPod.URL+"/bk_plugin/detail/9.9.9", "404")
	})

	It("reports a task.json description that would fail every invocation as InvalidDescription, naming the field", func() {
		plv := helloVersion(suite.NewNamespace(), "1.0.0")
		Expect(json.Unmarshal([]byte(`{"input": {
			"name": {"type": "vuex-input", "rely": {"expression": [{"key": "mode", "value": "a", "regex": "^a"}]}},
			"mode": {"type": "vuex-input"}}}`), &plv.Spec.TaskJSON)).To(Succeed())
		Expect(k8sClient.Create(suiteCtx, plv)).To(Succeed())
		expectReady(client.ObjectKeyFromObject(plv), metav1.ConditionFalse, bkv1.VersionReasonInvalidDescription,
			"spec.taskJSON", "input.name.rely.expression[0]")
	})

	It("reports a spec whose inputs schema differs from the pod's as SchemaMismatch until the spec is fixed", func() {
		ns := suite.NewNamespace()
		plv := helloVersion(ns, "1.0.0")
		served := plv.Spec.Inputs.DeepCopy()
		plv.Spec.Inputs = testenv.RawJSON(`{"type":"object","properties":{"name":{"type":"integer"}},"required":["name"]}`)
		Expect(k8sClient.Create(suiteCtx, plv)).To(Succeed())
		key := client.ObjectKeyFromObject(plv)
		got := expectReady(key, metav1.ConditionFalse, bkv1.VersionReasonSchemaMismatch, "inputs")
		Expect(meta.FindStatusCondition(got.Status.Conditions, bkv1.ConditionReady).Message).NotTo(ContainSubstring("outputs"))

		// The schema the pod serves, rewritten with other spacing and key
		// order, is the same schema.
		var spec map[string]any
		Expect(json.Unmarshal(served.Raw, &spec)).To(Succeed())
		reordered, err := json.MarshalIndent(spec, "", "    ")
		Expect(err).NotTo(HaveOccurred())
		Expect(reordered).NotTo(Equal(served.Raw))
		patch := client.MergeFrom(got.DeepCopy())
		got.Spec.Inputs = testenv.RawJSON(string(reordered))
		Expect(k8sClient.Patch(suiteCtx, got, patch)).To(Succeed())
		fixed := expectReady(key, metav1.ConditionTrue, bkv1.VersionReasonServing)
		Expect(fixed.Generation).To(Equal(int64(2)))
	})

	It("marks the newer of two registrations of one version Conflict until the older is deleted", func() {
		ns := suite.NewNamespace()
		older := suite.RegisterVersions(ns, helloplugin.Plugin(), helloPod.URL, "1.0.0")[0]
		suite.WaitReady([]bkv1.PluginVersion{older})

		newer := helloVersion(ns, "1.0.0")
		newer.Name = "hello-1-0-0-again"
		Expect(k8sClient.Create(suiteCtx, newer)).To(Succeed())
		got := expectReady(client.ObjectKeyFromObject(newer), metav1.ConditionFalse, bkv1.VersionReasonConflict,
			"PluginVersion "+older.Name)
		expectEvent(got, "Warning", version.EventReasonVersionNotReady, bkv1.VersionReasonConflict)
		expectReady(client.ObjectKeyFromObject(&older), metav1.ConditionTrue, bkv1.VersionReasonServing)

		Expect(k8sClient.Delete(suiteCtx, &older)).To(Succeed())
		expectReady(client.ObjectKeyFromObject(newer), metav1.ConditionTrue, bkv1.VersionReasonServing)
	})

	It("resolves a Service endpoint to its cluster DNS name", func() {
		ns := suite.NewNamespace()
		plv := helloVersion(ns, "1.0.0")
		plv.Spec.Endpoint = bkv1.PluginEndpoint{Service: &bkv1.ServiceReference{Name: "hello", Port: 8080}}
		one := int32(1)
		plv.Spec.TimeoutSeconds = &one
		Expect(k8sClient.Create(suiteCtx, plv)).To(Succeed())
		want := "http://hello." + ns + ".svc.cluster.local:8080"
		// No cluster DNS answers in envtest: the name resolves nowhere.
		got := expectReady(client.ObjectKeyFromObject(plv), metav1.ConditionFalse, bkv1.VersionReasonUnreachable,
			want+"/bk_plugin/detail/1.0.0")
		Expect(got.Status.EndpointURL).To(Equal(want))
	})
})

// helloVersion returns, not yet created, the PluginVersion hello's manifest
// prints for version, served by helloPod.
func helloVersion(ns, version string) *bkv1.PluginVersion {
	GinkgoHelper()
	plvs, err := manifest.PluginVersions(helloplugin.Plugin(), manifest.Options{Namespace: ns, URL: helloPod.URL, Versions: []string{version}})
	Expect(err).NotTo(HaveOccurred())
	Expect(plvs).To(HaveLen(1))
	return &plvs[0]
}
