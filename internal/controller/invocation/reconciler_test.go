//go:build envtest

package invocation_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/testenv"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/callbacker/callbackerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/hello/helloplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/examples/poller/pollerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// invoke creates an invocation named after a fresh trace id, as the shim does.
func invoke(ns, plugin, version, inputs string, mutate ...func(*bkv1.PluginInvocation)) *bkv1.PluginInvocation {
	GinkgoHelper()
	inv := &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{Name: newTraceID(), Namespace: ns},
		Spec:       bkv1.PluginInvocationSpec{Plugin: plugin, Version: version, Inputs: testenv.RawJSON(inputs)},
	}
	for _, m := range mutate {
		m(inv)
	}
	Expect(k8sClient.Create(suiteCtx, inv)).To(Succeed())
	return inv
}

// newTraceID returns a fresh trace id.
func newTraceID() string {
	GinkgoHelper()
	id, err := stdapi.NewTraceID()
	Expect(err).NotTo(HaveOccurred())
	return id
}

// named names the invocation, for specs that prepare its Secret first.
func named(name string) func(*bkv1.PluginInvocation) {
	return func(i *bkv1.PluginInvocation) { i.Name = name }
}

// get reads an invocation from the API server.
func get(inv *bkv1.PluginInvocation) *bkv1.PluginInvocation {
	GinkgoHelper()
	got := &bkv1.PluginInvocation{}
	Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(inv), got)).To(Succeed())
	return got
}

// waitState waits until the invocation is in state and returns it.
func waitState(inv *bkv1.PluginInvocation, state bkv1.InvocationState) *bkv1.PluginInvocation {
	GinkgoHelper()
	var got *bkv1.PluginInvocation
	Eventually(func(g Gomega) {
		got = &bkv1.PluginInvocation{}
		g.Expect(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(inv), got)).To(Succeed())
		g.Expect(got.Status.State).To(Equal(state), "status: %+v", got.Status)
	}).Should(Succeed())
	return got
}

// outputs decodes an invocation's outputs.
func outputs(inv *bkv1.PluginInvocation) map[string]any {
	GinkgoHelper()
	out := map[string]any{}
	if inv.Status.Outputs != nil {
		Expect(json.Unmarshal(inv.Status.Outputs.Raw, &out)).To(Succeed())
	}
	return out
}

// sendCallback records a callback annotation, as the shim does.
func sendCallback(inv *bkv1.PluginInvocation, id, data string) {
	GinkgoHelper()
	value, err := json.Marshal(bkv1.CallbackAnnotation{Data: json.RawMessage(data), ReceivedAt: metav1.NowMicro()})
	Expect(err).NotTo(HaveOccurred())
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		bkv1.CallbackAnnotationPrefix + id: string(value)}}})
	Expect(err).NotTo(HaveOccurred())
	Expect(k8sClient.Patch(suiteCtx, &bkv1.PluginInvocation{ObjectMeta: metav1.ObjectMeta{Name: inv.Name, Namespace: inv.Namespace}},
		client.RawPatch(types.MergePatchType, patch))).To(Succeed())
}

// eventReasons polls the reasons of the events recorded about inv; events
// outlive the object, so it also serves after inv is deleted.
func eventReasons(ns string, inv *bkv1.PluginInvocation) func(g Gomega) []string {
	return func(g Gomega) []string {
		var list eventsv1.EventList
		g.Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(ns))).To(Succeed())
		var reasons []string
		for _, e := range list.Items {
			if e.Regarding.Name == inv.Name {
				reasons = append(reasons, e.Reason)
			}
		}
		return reasons
	}
}

func succeededCondition(inv *bkv1.PluginInvocation) *metav1.Condition {
	return apimeta.FindStatusCondition(inv.Status.Conditions, bkv1.ConditionSucceeded)
}

var _ = Describe("PluginInvocation", func() {
	var ns string
	BeforeEach(func() { ns = suite.NewNamespace() })

	Context("with hello", func() {
		BeforeEach(func() { suite.WaitReady(suite.RegisterVersions(ns, helloplugin.Plugin(), helloPod.URL)) })

		It("ends SUCCESS with the greeting after one execute", func() {
			inv := invoke(ns, "hello", "1.0.0", `{"name":"world"}`)
			got := waitState(inv, bkv1.StateSuccess)
			Expect(outputs(got)).To(HaveKeyWithValue("greeting", "Hello, world!"))
			Expect(got.Status.InvokeCount).To(Equal(int32(1)))
			Expect(got.Status.TraceID).To(Equal(inv.Name))
			Expect(got.Status.ResolvedVersion).To(Equal("1.0.0"))
			Expect(got.Status.StartTime).NotTo(BeNil())
			Expect(got.Status.CompletionTime).NotTo(BeNil())
			Expect(succeededCondition(got)).To(HaveField("Status", metav1.ConditionTrue))
			Eventually(func() map[string]string { return get(inv).Labels }).Should(And(
				HaveKeyWithValue(bkv1.LabelPlugin, "hello"), HaveKeyWithValue(bkv1.LabelVersion, "1.0.0")))
		})

		It("resolves ^1.0 to the newest Ready version and records it", func() {
			inv := invoke(ns, "hello", "^1.0", `{"name":"world","punctuation":"?"}`)
			got := waitState(inv, bkv1.StateSuccess)
			Expect(got.Status.ResolvedVersion).To(Equal("1.1.0"))
			Expect(outputs(got)).To(HaveKeyWithValue("greeting", "Hello, world?"))
			Eventually(func() map[string]string { return get(inv).Labels }).Should(HaveKeyWithValue(bkv1.LabelVersion, "1.1.0"))
		})

		It("fails clearly when no version matches the constraint", func() {
			inv := invoke(ns, "hello", "^2.0", `{"name":"world"}`)
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(Equal("no version of hello matches ^2.0"))
			Expect(got.Status.InvokeCount).To(BeZero())
			Expect(succeededCondition(got)).To(HaveField("Reason", "NoMatchingVersion"))
			// A failure is what an operator must notice: a Warning event.
			Eventually(eventReasons(ns, inv)).Should(ContainElement("Failed"))
		})

		It("fails invalid inputs before any execute, naming the field", func() {
			inv := invoke(ns, "hello", "1.0.0", `{"nome":"typo"}`)
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(HavePrefix("inputs validation error"))
			Expect(got.Status.Error).To(ContainSubstring("name"))
			Expect(got.Status.InvokeCount).To(BeZero())
			Expect(succeededCondition(got)).To(HaveField("Reason", "InvalidInputs"))
		})

		It("is deleted ttlSecondsAfterFinished after it ends", func() {
			inv := invoke(ns, "hello", "1.0.0", `{"name":"ttl"}`, func(i *bkv1.PluginInvocation) {
				i.Spec.TTLSecondsAfterFinished = ptr.To[int32](1)
			})
			// The object may be gone before a poll sees SUCCESS (a loaded
			// machine can take longer than the TTL between two polls), so
			// the deletion is awaited and the success read from the
			// history archive, which outlives the object.
			Eventually(func() bool {
				return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(inv), &bkv1.PluginInvocation{}))
			}).Should(BeTrue())
			rec, err := suiteArchive.Get(suiteCtx, archive.Key{Namespace: ns, TraceID: inv.Name})
			Expect(err).NotTo(HaveOccurred())
			Expect(rec.State).To(Equal(protocol.StateSuccess))
		})

		It("posts the finish notification with the result", func() {
			var mu sync.Mutex
			var bodies []map[string]any
			fails := 1
			sink := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				defer mu.Unlock()
				if fails > 0 { // the first attempt fails: the notification is retried
					fails--
					w.WriteHeader(http.StatusServiceUnavailable)
					return
				}
				b, _ := io.ReadAll(r.Body)
				m := map[string]any{}
				_ = json.Unmarshal(b, &m)
				bodies = append(bodies, m)
			}))
			DeferCleanup(sink.Close)
			inv := invoke(ns, "hello", "1.0.0", `{"name":"notify"}`, func(i *bkv1.PluginInvocation) {
				i.Spec.FinishNotification = &bkv1.FinishNotification{URL: sink.URL, Data: testenv.RawJSON(`{"task":"t1"}`)}
			})
			Eventually(func(g Gomega) {
				got := get(inv)
				c := apimeta.FindStatusCondition(got.Status.Conditions, bkv1.ConditionNotified)
				g.Expect(c).NotTo(BeNil())
				g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
			}).Should(Succeed())
			mu.Lock()
			defer mu.Unlock()
			Expect(bodies).To(HaveLen(1))
			Expect(bodies[0]).To(HaveKeyWithValue("trace_id", inv.Name))
			Expect(bodies[0]).To(HaveKeyWithValue("state", BeNumerically("==", 4)))
			Expect(bodies[0]).To(HaveKeyWithValue("outputs", HaveKeyWithValue("greeting", "Hello, notify!")))
			Expect(bodies[0]).To(HaveKeyWithValue("data", HaveKeyWithValue("task", "t1")))
		})
	})

	Context("with poller", func() {
		var pod *recordingPod
		var srv *httptest.Server
		BeforeEach(func() {
			pod = &recordingPod{handler: server.Handler(pollerplugin.Plugin())}
			srv = httptest.NewServer(pod)
			DeferCleanup(srv.Close)
			suite.WaitReady(suite.RegisterVersions(ns, pollerplugin.Plugin(), srv.URL))
		})

		It("polls polls times, then ends SUCCESS with invokeCount polls+1", func() {
			inv := invoke(ns, "poller", "1.0.0", `{"polls":3,"interval":0}`)
			got := waitState(inv, bkv1.StateSuccess)
			Expect(got.Status.InvokeCount).To(Equal(int32(4)))
			Expect(outputs(got)).To(HaveKeyWithValue("polls_done", BeNumerically("==", 3)))
			states := []string{}
			for _, r := range pod.executes(inv.Name) {
				states = append(states, fmt.Sprintf("%d:%s", r.InvokeCount, r.State))
			}
			Expect(states).To(Equal([]string{"1:EMPTY", "2:POLL", "3:POLL", "4:POLL"}))
		})

		It("ends FAIL with the plugin's error at fail_at", func() {
			inv := invoke(ns, "poller", "1.0.0", `{"polls":5,"interval":0,"fail_at":2}`)
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(Equal("failed at poll 2"))
			Expect(succeededCondition(got)).To(HaveField("Reason", "PluginFailed"))
		})

		It("ends FAIL \"timeout\" at its deadline", func() {
			inv := invoke(ns, "poller", "1.0.0", `{"polls":100,"interval":1}`, func(i *bkv1.PluginInvocation) {
				i.Spec.ActiveDeadlineSeconds = ptr.To[int64](2)
			})
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(Equal("timeout"))
			Expect(succeededCondition(got)).To(HaveField("Reason", "DeadlineExceeded"))
		})

		It("resumes after a manager restart in the middle of POLL without an early execute", func() {
			inv := invoke(ns, "poller", "1.0.0", `{"polls":1,"interval":3}`)
			polling := waitState(inv, bkv1.StatePoll)
			nextPoll := polling.Status.NextPollTime.Time

			stopRunningManager()
			startManager(invocationOptions())

			got := waitState(inv, bkv1.StateSuccess)
			Expect(got.Status.InvokeCount).To(Equal(int32(2)))
			execs := pod.executes(inv.Name)
			Expect(execs).To(HaveLen(2), "each invoke count is executed once")
			// Kubernetes times have one-second precision; the execute may
			// not come before the recorded poll time.
			Expect(execs[1].At).To(BeTemporally(">=", nextPoll.Add(-time.Second)))
			Expect(execs[1].At.Sub(execs[0].At)).To(BeNumerically(">=", 2*time.Second))
		})
	})

	Context("with callbacks", func() {
		BeforeEach(func() {
			suite.WaitReady(suite.RegisterVersions(ns, callbackerplugin.Plugin(), callbackerPod.URL))
		})

		It("waits in CALLBACK, then ends SUCCESS with the callback's data", func() {
			inv := invoke(ns, "callbacker", "1.0.0", `{}`)
			waiting := waitState(inv, bkv1.StateCallback)
			out := outputs(waiting)
			id, _ := out["callback_id"].(string)
			Expect(id).NotTo(BeEmpty())
			Expect(out["callback_url"]).To(HavePrefix("http://shim.test:8080/plugins/callbacker/bk_plugin/callback/"))
			Expect(waiting.Status.PreparedCallbacks).To(ConsistOf(id))
			Expect(waiting.Status.NextPollTime).To(BeNil())

			sendCallback(inv, id, `{"job":"done","n":7}`)
			got := waitState(inv, bkv1.StateSuccess)
			Expect(outputs(got)).To(HaveKeyWithValue("received", map[string]any{"job": "done", "n": float64(7)}))
			Expect(got.Status.DeliveredCallbacks).To(ConsistOf(id))
			Expect(got.Status.InvokeCount).To(Equal(int32(2)))
			Eventually(func() map[string]string { return get(inv).Annotations }).ShouldNot(HaveKey(bkv1.CallbackAnnotationPrefix + id))
		})

		It("ends FAIL \"cancelled\" when cancelled while waiting", func() {
			inv := invoke(ns, "callbacker", "1.0.0", `{}`)
			waitState(inv, bkv1.StateCallback)
			Expect(k8sClient.Patch(suiteCtx, inv, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"cancel":true}}`)))).To(Succeed())
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(Equal("cancelled"))
			Expect(succeededCondition(got)).To(HaveField("Reason", "Cancelled"))
		})
	})

	Context("with the relay test plugin", func() {
		var pod *recordingPod
		BeforeEach(func() {
			pod = &recordingPod{handler: server.Handler(relayPlugin())}
			srv := httptest.NewServer(pod)
			DeferCleanup(srv.Close)
			suite.WaitReady(suite.RegisterVersions(ns, relayPlugin(), srv.URL))
		})

		It("keeps a callback that arrives during POLL and delivers it once CALLBACK is reached", func() {
			inv := invoke(ns, relayCode, "1.0.0", `{"poll_first_seconds":2}`)
			polling := waitState(inv, bkv1.StatePoll)
			id := outputs(polling)["callback_id"].(string)
			sendCallback(inv, id, `{"early":true}`)

			got := waitState(inv, bkv1.StateSuccess)
			Expect(outputs(got)["received"]).To(Equal([]any{map[string]any{"early": true}}))
			Expect(got.Status.DeliveredCallbacks).To(ConsistOf(id))
			// EMPTY -> POLL -> CALLBACK -> delivered: three executes, the
			// callback was not delivered early (POLL) nor twice.
			Expect(pod.executes(inv.Name)).To(HaveLen(3))
		})

		It("delivers a repeated callback id once", func() {
			inv := invoke(ns, relayCode, "1.0.0", `{"want":2}`)
			waitState(inv, bkv1.StateCallback)
			sendCallback(inv, "first", `"a"`)
			Eventually(func() []string { return get(inv).Status.DeliveredCallbacks }).Should(ConsistOf("first"))
			Eventually(func() map[string]string { return get(inv).Annotations }).ShouldNot(HaveKey(bkv1.CallbackAnnotationPrefix + "first"))

			sendCallback(inv, "first", `"a-again"`)
			Eventually(func() map[string]string { return get(inv).Annotations }).ShouldNot(HaveKey(bkv1.CallbackAnnotationPrefix + "first"))
			Expect(get(inv).Status.State).To(Equal(bkv1.StateCallback))

			sendCallback(inv, "second", `"b"`)
			got := waitState(inv, bkv1.StateSuccess)
			Expect(outputs(got)["received"]).To(Equal([]any{"a", "b"}))
			Expect(got.Status.InvokeCount).To(Equal(int32(3)))
		})

		It("delivers callbacks in the order they arrived", func() {
			inv := invoke(ns, relayCode, "1.0.0", `{"want":3,"poll_first_seconds":2}`)
			waitState(inv, bkv1.StatePoll)
			for _, id := range []string{"c3", "c1", "c2"} {
				sendCallback(inv, id, fmt.Sprintf("%q", id))
				time.Sleep(2 * time.Millisecond) // distinct arrival times; not a synchronisation
			}
			got := waitState(inv, bkv1.StateSuccess)
			Expect(outputs(got)["received"]).To(Equal([]any{"c3", "c1", "c2"}))
		})

		It("ends FAIL \"callback timeout\" when no callback comes in time", func() {
			inv := invoke(ns, relayCode, "1.0.0", `{"callback_timeout_seconds":1}`)
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(Equal("callback timeout"))
			Expect(succeededCondition(got)).To(HaveField("Reason", "CallbackTimeout"))
		})

		It("ends FAIL \"storage too large\" instead of a stuck object", func() {
			inv := invoke(ns, relayCode, "1.0.0", `{"storage_bytes":2000000}`)
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(HavePrefix("storage too large"))
			Expect(got.Status.Storage).To(BeNil())
		})
	})

	Context("with a plugin pod that cannot be reached", func() {
		It("retries with backoff, then ends FAIL naming the endpoint and the cause", func() {
			dead := httptest.NewServer(http.NotFoundHandler())
			url := dead.URL
			dead.Close()
			plv := &bkv1.PluginVersion{
				ObjectMeta: metav1.ObjectMeta{Name: "hello-1-0-0", Namespace: ns},
				Spec: bkv1.PluginVersionSpec{Plugin: "hello", Version: "1.0.0",
					Endpoint: bkv1.PluginEndpoint{URL: ptr.To(url)}},
			}
			Expect(k8sClient.Create(suiteCtx, plv)).To(Succeed())
			inv := invoke(ns, "hello", "1.0.0", `{"name":"nobody"}`)
			Eventually(func() int32 { return get(inv).Status.RetryCount }).Should(BeNumerically(">=", 1))
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(ContainSubstring(url + "/bk_plugin/execute/1.0.0"))
			Expect(got.Status.Error).To(ContainSubstring("connection refused"))
			Expect(got.Status.Error).To(MatchRegexp(`gave up after \d+ attempts`))
			Expect(succeededCondition(got)).To(HaveField("Reason", "PluginUnreachable"))
		})

		It("ends FAIL when the pod's answer breaks the protocol", func() {
			garbage := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				_, _ = io.WriteString(w, "<html>not json</html>")
			}))
			DeferCleanup(garbage.Close)
			Expect(k8sClient.Create(suiteCtx, &bkv1.PluginVersion{
				ObjectMeta: metav1.ObjectMeta{Name: "hello-1-0-0", Namespace: ns},
				Spec: bkv1.PluginVersionSpec{Plugin: "hello", Version: "1.0.0",
					Endpoint: bkv1.PluginEndpoint{URL: ptr.To(garbage.URL)}},
			})).To(Succeed())
			inv := invoke(ns, "hello", "1.0.0", `{"name":"x"}`)
			got := waitState(inv, bkv1.StateFail)
			Expect(got.Status.Error).To(ContainSubstring("breaks the plugin pod protocol"))
			Expect(strings.HasPrefix(got.Status.Error, "calling plugin pod "+garbage.URL)).To(BeTrue())
		})
	})
})
