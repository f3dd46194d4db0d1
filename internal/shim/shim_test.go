//go:build envtest

package shim_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	bkclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

func invokeReq(inputs any) stdapi.InvokeRequest {
	GinkgoHelper()
	req, err := stdapi.NewInvokeRequest(inputs, nil)
	Expect(err).NotTo(HaveOccurred())
	return req
}

func outputsOf(raw json.RawMessage) map[string]any {
	GinkgoHelper()
	out := map[string]any{}
	Expect(json.Unmarshal(raw, &out)).To(Succeed())
	return out
}

var _ = Describe("plugins, meta and detail", func() {
	c := func() *bkclient.Client { return newClient(bkclient.Options{}) }

	It("lists every plugin with its versions", func() {
		list, err := c().ListPlugins(suiteCtx)
		Expect(err).NotTo(HaveOccurred())
		Expect(list.Results).To(ContainElements(
			stdapi.PluginSummary{Code: "callbacker", Versions: []string{"1.0.0"}},
			stdapi.PluginSummary{Code: "hello", Versions: []string{"1.0.0", "1.1.0"}},
			stdapi.PluginSummary{Code: "poller", Versions: []string{"1.0.0"}},
		))
		Expect(list.Count).To(Equal(len(list.Results)))
	})

	It("answers meta with the Python framework's fields", func() {
		m, err := c().Meta(suiteCtx, "scoped")
		Expect(err).NotTo(HaveOccurred())
		Expect(m.Code).To(Equal("scoped"))
		Expect(m.Versions).To(Equal([]string{"1.0.0"}))
		Expect(m.Language).To(Equal("go"))
		Expect(m.FrameworkVersion).NotTo(BeEmpty())
		Expect(m.AllowScope).To(Equal(map[string]stdapi.AllowedScope{"bk_sops": {Type: "project", Value: []string{"1", "2"}}}))

		a := rawCall(http.MethodGet, stdapi.MetaPath("hello"), "", nil)
		Expect(a.Status).To(Equal(http.StatusOK))
		// Newest first, as the Python framework sorts them: bk-sops takes
		// versions[0] as the latest.
		Expect(a.Env["data"]).To(HaveKeyWithValue("versions", []any{"1.1.0", "1.0.0"}))
		Expect(a.Env["data"]).To(SatisfyAll(HaveKey("description"), HaveKey("runtime_version"), HaveKey("framework_version")))
	})

	It("answers detail of an exact version and of a constraint", func() {
		d, err := c().Detail(suiteCtx, "hello", "1.1.0")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Version).To(Equal("1.1.0"))
		Expect(d.Forms.Renderform).To(ContainSubstring("punctuations"))
		Expect(outputsOf(d.Inputs)).To(HaveKeyWithValue("properties", HaveKey("punctuation")))
		Expect(outputsOf(d.ContextInputs)).To(HaveKey("properties"))

		d, err = c().Detail(suiteCtx, "hello", "^1.0")
		Expect(err).NotTo(HaveOccurred())
		Expect(d.Version).To(Equal("1.1.0"))
	})
})

var _ = Describe("invoke and schedule", func() {
	c := func() *bkclient.Client { return newClient(bkclient.Options{}) }

	It("answers hello SUCCESS synchronously, and schedule agrees", func() {
		res, err := c().Invoke(suiteCtx, "hello", "1.0.0", invokeReq(map[string]any{"name": "world"}), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.State).To(Equal(protocol.StateSuccess))
		Expect(outputsOf(res.Outputs)).To(HaveKeyWithValue("greeting", "Hello, world!"))
		Expect(stdapi.ValidTraceID(res.TraceID)).To(BeTrue())

		if inv, rec := stored(res.TraceID); inv != nil {
			Expect(inv.Labels).To(HaveKeyWithValue(bkv1.LabelPlugin, "hello"))
			Expect(inv.Spec.Caller).To(HaveField("Username", "admin"))
		} else {
			Expect(rec.Plugin).To(Equal("hello"))
			Expect(rec.Caller.Username).To(Equal("admin"))
		}

		s, err := c().Schedule(suiteCtx, "hello", res.TraceID)
		Expect(err).NotTo(HaveOccurred())
		Expect(s.State).To(Equal(protocol.StateSuccess))
		Expect(s.PluginVersion).To(Equal("1.0.0"))
		Expect(s.FinishAt.IsZero()).To(BeFalse())

		a := rawCall(http.MethodGet, stdapi.SchedulePath("hello", res.TraceID), "", nil)
		Expect(a.Env["data"]).To(HaveKeyWithValue("created_at", MatchRegexp(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)))
		Expect(a.Env["data"]).To(HaveKeyWithValue("finish_at", MatchRegexp(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)))
		Expect(a.Env).To(HaveKeyWithValue("trace_id", res.TraceID))
	})

	It("resolves a constraint and schedule names the resolved version", func() {
		res, err := c().Invoke(suiteCtx, "hello", "^1.0", invokeReq(map[string]any{"name": "x", "punctuation": "?"}), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(outputsOf(res.Outputs)).To(HaveKeyWithValue("greeting", "Hello, x?"))
		s, err := c().Schedule(suiteCtx, "hello", res.TraceID)
		Expect(err).NotTo(HaveOccurred())
		Expect(s.PluginVersion).To(Equal("1.1.0"))
	})

	It("answers FAIL with err, result true, for inputs that fail the schema", func() {
		res, err := c().Invoke(suiteCtx, "hello", "1.0.0", invokeReq(map[string]any{"nome": "typo"}), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.State).To(Equal(protocol.StateFail))
		Expect(res.Err).To(HavePrefix("inputs validation error"))
	})

	It("answers poller POLL, then schedule reaches SUCCESS", func() {
		res, err := c().Invoke(suiteCtx, "poller", "1.0.0", invokeReq(map[string]any{"polls": 2, "interval": 1}), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.State).To(Equal(protocol.StatePoll))

		s, err := c().Schedule(suiteCtx, "poller", res.TraceID)
		Expect(err).NotTo(HaveOccurred())
		if s.State == protocol.StatePoll {
			Expect(s.FinishAt.IsZero()).To(BeTrue(), "finish_at of a running invocation")
		}
		var seen []protocol.State
		final, err := c().WaitTerminal(suiteCtx, "poller", res.TraceID, 100*time.Millisecond, func(s stdapi.ScheduleData) { seen = append(seen, s.State) })
		Expect(err).NotTo(HaveOccurred())
		Expect(final.State).To(Equal(protocol.StateSuccess))
		Expect(outputsOf(final.Outputs)).To(HaveKeyWithValue("polls_done", BeNumerically("==", 2)))
		Expect(seen).To(ContainElement(protocol.StateSuccess))
	})

	It("answers an async invoke at once with POLL, never EMPTY", func() {
		res, err := c().Invoke(suiteCtx, "hello", "1.0.0", invokeReq(map[string]any{"name": "async"}), bkclient.InvokeOptions{Async: true})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.State).To(Equal(protocol.StatePoll))
		final, err := c().WaitTerminal(suiteCtx, "hello", res.TraceID, 50*time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(final.State).To(Equal(protocol.StateSuccess))
	})

	It("says so honestly when the first execute outlasts the wait", func() {
		res, err := c().Invoke(suiteCtx, "slow", "1.0.0", invokeReq(nil), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.State).To(Equal(protocol.StatePoll), "not finished is POLL on the wire: bk-sops ends a node on 1")
		Expect(res.Err).To(BeEmpty())
		a := rawCall(http.MethodGet, stdapi.SchedulePath("slow", res.TraceID), "", nil)
		Expect(a.Env["data"]).To(HaveKeyWithValue("state", BeNumerically("==", 2)))

		// The same invoke, retried with its trace id, reports the wait too.
		retry := rawCall(http.MethodPost, stdapi.InvokePath("slow", "1.0.0"), `{"inputs":{},"context":{}}`,
			map[string]string{stdapi.HeaderTraceID: res.TraceID})
		Expect(retry.Status).To(Equal(http.StatusOK))
		Expect(retry.Env).To(HaveKeyWithValue("message", SatisfyAll(
			ContainSubstring("has not finished after "+invokeTimeout.String()), ContainSubstring("schedule"))))

		gate.open()
		final, err := c().WaitTerminal(suiteCtx, "slow", res.TraceID, 50*time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(final.State).To(Equal(protocol.StateSuccess))
		Expect(outputsOf(final.Outputs)).To(HaveKeyWithValue("done", true))
	})

	It("is idempotent with a client trace id: a retry answers the same invocation", func() {
		traceID := newTraceID()
		req := invokeReq(map[string]any{"name": "twice"})
		first, err := c().Invoke(suiteCtx, "hello", "1.0.0", req, bkclient.InvokeOptions{TraceID: traceID})
		Expect(err).NotTo(HaveOccurred())
		second, err := c().Invoke(suiteCtx, "hello", "1.0.0", req, bkclient.InvokeOptions{TraceID: traceID})
		Expect(err).NotTo(HaveOccurred())
		Expect(first.TraceID).To(Equal(traceID))
		Expect(second.TraceID).To(Equal(traceID))
		Expect(second.State).To(Equal(protocol.StateSuccess))
		Expect(second.Outputs).To(MatchJSON(first.Outputs))

		var list bkv1.PluginInvocationList
		Expect(k8sClient.List(suiteCtx, &list, client.InNamespace(namespace))).To(Succeed())
		n := 0
		for _, inv := range list.Items {
			if inv.Name == traceID {
				n++
			}
		}
		if directMode() {
			Expect(n).To(BeZero(), "a call answered on the direct path is never a PluginInvocation")
		} else {
			Expect(n).To(Equal(1))
		}
		Expect(executesOf(traceID)).To(Equal(int32(1)), "the plugin ran once")

		_, err = c().Invoke(suiteCtx, "hello", "1.1.0", req, bkclient.InvokeOptions{TraceID: traceID})
		Expect(err).To(MatchError(ContainSubstring("409")))
		Expect(err).To(MatchError(ContainSubstring("already names an invocation")))
		_, err = c().Invoke(suiteCtx, "hello", "1.0.0", invokeReq(map[string]any{"name": "other"}), bkclient.InvokeOptions{TraceID: traceID})
		Expect(err).To(MatchError(ContainSubstring("other inputs")))
	})
})

var _ = Describe("callback", func() {
	c := func() *bkclient.Client { return newClient(bkclient.Options{}) }

	// waitingCallbacker starts a callbacker invocation and returns its trace
	// id, callback id and callback URL.
	waitingCallbacker := func() (string, string, string) {
		GinkgoHelper()
		res, err := c().Invoke(suiteCtx, "callbacker", "1.0.0", invokeReq(nil), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		Expect(res.State).To(Equal(protocol.StateCallback))
		out := outputsOf(res.Outputs)
		Expect(out).To(HaveKeyWithValue("callback_url", HavePrefix(shimURL+"/plugins/callbacker/bk_plugin/callback/")))
		return res.TraceID, out["callback_id"].(string), out["callback_url"].(string)
	}
	tokenOf := func(callbackURL string) string {
		parts := strings.Split(strings.TrimSuffix(callbackURL, "/"), "/")
		return parts[len(parts)-1]
	}
	post := func(path, body string) rawAnswer {
		GinkgoHelper()
		return rawCall(http.MethodPost, path, body, map[string]string{"Content-Type": "application/json"})
	}

	It("completes callbacker through the URL from its outputs, then refuses more", func() {
		traceID, _, url := waitingCallbacker()
		Expect(c().CallbackURL(suiteCtx, url, map[string]any{"job": "done"})).To(Succeed())
		final, err := c().WaitTerminal(suiteCtx, "callbacker", traceID, 50*time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(final.State).To(Equal(protocol.StateSuccess))
		Expect(outputsOf(final.Outputs)).To(HaveKeyWithValue("received", map[string]any{"job": "done"}))

		a := post(strings.TrimPrefix(url, shimURL), `{"job":"again"}`)
		Expect(a.Status).To(Equal(http.StatusBadRequest))
		Expect(a.Env).To(Equal(map[string]any{"result": false, "message": "invocation " + traceID + " has finished (SUCCESS)"}))
	})

	// Issue 15, finding 7: a well-signed token for an id the plugin never
	// prepared was delivered.
	It("refuses a callback id the plugin did not prepare", func() {
		traceID, _, _ := waitingCallbacker()
		inv := getInvocation(traceID)
		token, err := protocol.SignToken(protocol.DeriveBoundKey(callbackKey, traceID, inv.CallbackBindingID()),
			protocol.TokenClaims{TraceID: traceID, CallbackID: "stray", ExpiresAt: time.Now().Add(time.Hour).Unix()})
		Expect(err).NotTo(HaveOccurred())
		a := post(stdapi.CallbackPath("callbacker", token), `{"n":1}`)
		Expect(a.Status).To(Equal(http.StatusBadRequest))
		Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring("callback stray: callback was not prepared by the plugin")))
		Expect(getInvocation(traceID).Annotations).NotTo(HaveKey(bkv1.CallbackAnnotationPrefix + "stray"))
	})

	It("refuses a token of a deleted invocation whose trace id is reused", func() {
		traceID, _, url := waitingCallbacker()
		old := tokenOf(url)
		first := getInvocation(traceID)
		Expect(k8sClient.Delete(suiteCtx, first)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(first), &bkv1.PluginInvocation{}))
		}).Should(BeTrue())
		reused := &bkv1.PluginInvocation{
			ObjectMeta: metav1.ObjectMeta{Name: traceID, Namespace: namespace},
			Spec:       *first.Spec.DeepCopy(),
		}
		Expect(k8sClient.Create(suiteCtx, reused)).To(Succeed())
		Eventually(func() bkv1.InvocationState { return getInvocation(traceID).Status.State }).Should(Equal(bkv1.StateCallback))
		a := post(strings.TrimPrefix(url, shimURL), `{"job":"stale"}`)
		Expect(a.Status).To(Equal(http.StatusBadRequest), "token %s", old)
		Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring("signature does not match")))
	})

	It("accepts a token signed with the previous key during a rotation", func() {
		traceID, id, _ := waitingCallbacker()
		token, err := protocol.SignToken(protocol.DeriveBoundKey(previousKey, traceID, getInvocation(traceID).CallbackBindingID()),
			protocol.TokenClaims{TraceID: traceID, CallbackID: id, ExpiresAt: time.Now().Add(time.Hour).Unix()})
		Expect(err).NotTo(HaveOccurred())
		Expect(c().Callback(suiteCtx, "callbacker", token, nil)).To(Succeed())
		final, err := c().WaitTerminal(suiteCtx, "callbacker", traceID, 50*time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(final.State).To(Equal(protocol.StateSuccess))
	})

	It("refuses forged, tampered, expired and replayed tokens with 400", func() {
		traceID, id, url := waitingCallbacker()
		other, _, _ := waitingCallbacker()
		token := tokenOf(url)
		claims, sig, _ := strings.Cut(token, ".")

		sign := func(key []byte, keyTrace string, cl protocol.TokenClaims) string {
			if cl.ExpiresAt == 0 {
				cl.ExpiresAt = time.Now().Add(time.Hour).Unix()
			}
			t, err := protocol.SignToken(protocol.DeriveBoundKey(key, keyTrace, getInvocation(keyTrace).CallbackBindingID()), cl)
			Expect(err).NotTo(HaveOccurred())
			return t
		}
		tampered := []byte(claims)
		tampered[len(tampered)/2] ^= 1
		cases := map[string]struct{ code, token, message string }{
			"forged":          {"callbacker", "not-a-token", "malformed token"},
			"wrong key":       {"callbacker", sign([]byte("some-other-key-0123456789"), traceID, protocol.TokenClaims{TraceID: traceID, CallbackID: id}), "signature does not match"},
			"tampered claims": {"callbacker", string(tampered) + "." + sig, "invalid callback token"},
			"expired":         {"callbacker", sign(callbackKey, traceID, protocol.TokenClaims{TraceID: traceID, CallbackID: id, ExpiresAt: time.Now().Add(-time.Minute).Unix()}), "expired"},
			// A's signature on B's claims: a token lifted from A and pointed at B.
			"A's signature on B's claims": {"callbacker", strings.SplitN(sign(callbackKey, other, protocol.TokenClaims{TraceID: other, CallbackID: id}), ".", 2)[0] + "." + sig, "signature does not match"},
			// A plugin pod holds only its invocation's key: a token it signs
			// for another invocation must not verify.
			"signed by A's pod for B": {"callbacker", sign(callbackKey, traceID, protocol.TokenClaims{TraceID: other, CallbackID: id}), "signature does not match"},
			"another plugin's path":   {"hello", token, "belongs to an invocation of plugin callbacker, not hello"},
		}
		for name, tc := range cases {
			a := post(stdapi.CallbackPath(tc.code, tc.token), `{"x":1}`)
			Expect(a.Status).To(Equal(http.StatusBadRequest), name)
			Expect(a.Env).To(HaveKeyWithValue("result", false), name)
			Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring(tc.message)), name)
		}
		a := post(strings.TrimPrefix(url, shimURL), `{not json`)
		Expect(a.Status).To(Equal(http.StatusBadRequest))
		Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring("invalid request body")))

		for _, t := range []string{traceID, other} {
			Expect(getInvocation(t).Status.State).To(Equal(bkv1.StateCallback), "no bad token woke %s", t)
			Expect(getInvocation(t).Annotations).NotTo(HaveKey(HavePrefix(bkv1.CallbackAnnotationPrefix)))
		}
	})
})
