//go:build envtest

package shim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	bkclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// The parity specs: what bk-sops and the Python framework's callers send,
// and what the Python framework's views and serializers answer them
// (docs/reference/python-parity.md §1-§2, its test plan §5), over real HTTP.

var traceIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

// dataOf is the data object of an envelope.
func dataOf(a rawAnswer) map[string]any {
	GinkgoHelper()
	d, ok := a.Env["data"].(map[string]any)
	Expect(ok).To(BeTrue(), "data is an object: %s", a.Body)
	return d
}

func jsonHeader() map[string]string { return map[string]string{"Content-Type": "application/json"} }

var _ = Describe("parity: meta and detail (PY api/meta.py, api/detail.py, kit/plugin.py)", func() {
	It("answers meta at both slash forms with allow_scope {}, the plugin's description and versions newest first", func() {
		for _, path := range []string{stdapi.MetaPath("hello"), "/plugins/hello/bk_plugin/meta"} {
			a := rawCall(http.MethodGet, path, "", nil)
			Expect(a.Status).To(Equal(http.StatusOK), path)
			Expect(a.Env).To(HaveKeyWithValue("result", true))
			d := dataOf(a)
			Expect(d).To(HaveKeyWithValue("code", "hello"))
			Expect(d).To(HaveKeyWithValue("language", "go"))
			Expect(d).To(HaveKeyWithValue("framework_version", BeAssignableToTypeOf("")))
			Expect(d).To(HaveKeyWithValue("runtime_version", BeAssignableToTypeOf("")))
			Expect(d).To(HaveKeyWithValue("allow_scope", map[string]any{}))
			Expect(d).To(HaveKeyWithValue("description", "Greets someone by name."), "the plugin's, not 1.1.0's")
			Expect(d).To(HaveKeyWithValue("versions", []any{"1.1.0", "1.0.0"}))
		}
	})

	It("answers meta's allow_scope in PY's shape", func() {
		d := dataOf(rawCall(http.MethodGet, stdapi.MetaPath("scoped"), "", nil))
		Expect(d).To(HaveKeyWithValue("allow_scope", map[string]any{"bk_sops": map[string]any{"type": "project", "value": []any{"1", "2"}}}))
	})

	DescribeTable("answers detail with enable_plugin_callback and four-key schemas",
		func(code, version string, callback bool) {
			for _, path := range []string{stdapi.DetailPath(code, version), stdapi.DetailPath(code, version) + "/"} {
				a := rawCall(http.MethodGet, path, "", nil)
				Expect(a.Status).To(Equal(http.StatusOK), path)
				d := dataOf(a)
				Expect(d).To(HaveKey("desc"))
				Expect(d).To(HaveKeyWithValue("version", version))
				Expect(d).To(HaveKeyWithValue("enable_plugin_callback", callback))
				Expect(d).To(HaveKeyWithValue("forms", HaveKey("renderform")))
				for _, key := range []string{"inputs", "outputs", "context_inputs"} {
					s, ok := d[key].(map[string]any)
					Expect(ok).To(BeTrue(), "%s of %s %s", key, code, version)
					Expect(s).To(HaveLen(4), "%s of %s %s: %v", key, code, version, s)
					Expect(s).To(HaveKeyWithValue("type", "object"))
					Expect(s).To(HaveKeyWithValue("properties", BeAssignableToTypeOf(map[string]any{})))
					Expect(s).To(HaveKeyWithValue("required", BeAssignableToTypeOf([]any{})))
					Expect(s).To(HaveKeyWithValue("definitions", BeAssignableToTypeOf(map[string]any{})))
				}
				Expect(a.Body).NotTo(ContainSubstring(`"$defs"`))
				Expect(a.Body).NotTo(ContainSubstring(`#/$defs/`))
			}
		},
		Entry("hello 1.0.0", "hello", "1.0.0", false),
		Entry("hello 1.1.0", "hello", "1.1.0", false),
		Entry("poller", "poller", "1.0.0", false),
		Entry("callbacker", "callbacker", "1.0.0", false),
		Entry("deployer (task.json)", "deployer", "1.0.0", false),
		Entry("keeper", "keeper", "1.0.0", false),
		Entry("scoped", "scoped", "1.0.0", false),
		Entry("slow", "slow", "1.0.0", false),
		Entry("formapi", "formapi", "1.0.0", false),
		Entry("notifier (finish-callback mode)", "notifier", "1.0.0", true),
	)

	It("declares plugin_callback_info in a finish-callback version's context inputs", func() {
		ctx := dataOf(rawCall(http.MethodGet, stdapi.DetailPath("notifier", "1.0.0"), "", nil))["context_inputs"].(map[string]any)
		Expect(ctx["properties"]).To(HaveKey("plugin_callback_info"))
		Expect(ctx["required"]).To(ContainElement("plugin_callback_info"))
	})
})

var _ = Describe("parity: invoke (PY api/invoke.py, runtime/executor.py)", func() {
	It("answers success with err null, a 32-hex trace id and the outputs", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("hello", "1.0.0"), `{"inputs":{"name":"py"},"context":{}}`, jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(a.Env).To(HaveKeyWithValue("result", true))
		Expect(a.Env).To(HaveKeyWithValue("message", "success"))
		Expect(a.Env).To(HaveKeyWithValue("trace_id", MatchRegexp(traceIDPattern.String())))
		d := dataOf(a)
		Expect(d).To(HaveKeyWithValue("state", BeNumerically("==", 4)))
		Expect(d).To(HaveKeyWithValue("err", BeNil()))
		Expect(d).To(HaveKeyWithValue("outputs", HaveKeyWithValue("greeting", "Hello, py!")))
	})

	It("answers the same without and with a trailing slash", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("hello", "1.0.0")+"/", `{"inputs":{"name":"py"},"context":{}}`, jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(dataOf(a)).To(HaveKeyWithValue("state", BeNumerically("==", 4)))
	})

	It("answers inputs failing the model 200, result true, state 5, outputs null, err 'inputs validation error'", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("hello", "1.0.0"), `{"inputs":{"nome":"typo"},"context":{}}`, jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK))
		Expect(a.Env).To(HaveKeyWithValue("result", true))
		d := dataOf(a)
		Expect(d).To(HaveKeyWithValue("state", BeNumerically("==", 5)))
		Expect(d).To(HaveKeyWithValue("outputs", BeNil()))
		Expect(d).To(HaveKeyWithValue("err", HavePrefix("inputs validation error")))
	})

	It("answers a context failing its model with 'context validation error'", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("formapi", "1.0.0"), `{"inputs":{"host":"h"},"context":{}}`, jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK))
		d := dataOf(a)
		Expect(d).To(HaveKeyWithValue("state", BeNumerically("==", 5)))
		Expect(d).To(HaveKeyWithValue("err", HavePrefix("context validation error")))
	})

	It("ignores the extra keys bk-sops sends in inputs and context", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("formapi", "1.0.0"),
			`{"inputs":{"host":"h1","plugin_code":"formapi","plugin_version":"1.0.0","_loop":1},"context":{"biz_id":2,"executor":"admin"}}`, jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		d := dataOf(a)
		Expect(d).To(HaveKeyWithValue("state", BeNumerically("==", 4)), a.Body)
		Expect(d).To(HaveKeyWithValue("outputs", HaveKeyWithValue("chosen", "h1 of business 2")))
	})

	DescribeTable("refuses a body the serializer refuses with 400, result false, naming the field",
		func(body, field string) {
			a := rawCall(http.MethodPost, stdapi.InvokePath("hello", "1.0.0"), body, jsonHeader())
			Expect(a.Status).To(Equal(http.StatusBadRequest))
			Expect(a.Env).To(HaveKeyWithValue("result", false))
			Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring(field)))
		},
		Entry("empty object", `{}`, "inputs"),
		Entry("inputs a list", `{"inputs":[],"context":{}}`, "inputs"),
		Entry("context null", `{"inputs":{},"context":null}`, "context"),
		Entry("not JSON", `inputs=1`, "JSON"),
	)

	It("never answers state 1: an async invoke is POLL with err null", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("poller", "1.0.0"), `{"inputs":{"polls":1,"interval":1},"context":{}}`,
			map[string]string{"Content-Type": "application/json", stdapi.HeaderAsync: "true"})
		Expect(a.Status).To(Equal(http.StatusOK))
		d := dataOf(a)
		Expect(d).To(HaveKeyWithValue("state", BeNumerically("==", 2)))
		Expect(d).To(HaveKeyWithValue("err", BeNil()))
	})
})

var _ = Describe("parity: schedule (PY api/schedule.py)", func() {
	It("answers a trace id of another plugin as unknown: 200, result false", func() {
		res, err := newClient(bkclient.Options{}).Invoke(suiteCtx, "hello", "1.0.0", invokeReq(map[string]any{"name": "x"}), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		a := rawCall(http.MethodGet, stdapi.SchedulePath("poller", res.TraceID), "", nil)
		Expect(a.Status).To(Equal(http.StatusOK))
		Expect(a.Env).To(HaveKeyWithValue("result", false))
		Expect(a.Env).To(HaveKeyWithValue("message", "can not find schedule for trace_id "+res.TraceID))
	})

	It("answers PY's schedule fields, with and without a trailing slash", func() {
		res, err := newClient(bkclient.Options{}).Invoke(suiteCtx, "hello", "1.0.0", invokeReq(map[string]any{"name": "x"}), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		for _, path := range []string{stdapi.SchedulePath("hello", res.TraceID), stdapi.SchedulePath("hello", res.TraceID) + "/"} {
			a := rawCall(http.MethodGet, path, "", nil)
			Expect(a.Status).To(Equal(http.StatusOK))
			Expect(a.Env).To(HaveKeyWithValue("message", ""))
			d := dataOf(a)
			Expect(d).To(HaveKeyWithValue("trace_id", res.TraceID))
			Expect(d).To(HaveKeyWithValue("plugin_version", "1.0.0"))
			Expect(d).To(HaveKeyWithValue("state", BeNumerically("==", 4)))
			Expect(d).To(HaveKeyWithValue("err", ""))
			Expect(d).To(HaveKeyWithValue("created_at", MatchRegexp(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)))
			Expect(d).To(HaveKeyWithValue("finish_at", MatchRegexp(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)))
		}
	})
})

// dispatchBody is a JSON plugin_api_dispatch body.
func dispatchBody(v map[string]any) string {
	GinkgoHelper()
	b, err := json.Marshal(v)
	Expect(err).NotTo(HaveOccurred())
	return string(b)
}

var _ = Describe("parity: plugin_api_dispatch (PY api/plugin_api_dispatch.py, bk-sops plugin_service/api.py)", func() {
	dispatch := stdapi.PluginAPIDispatchPath("formapi")

	DescribeTable("forwards bk-sops' Django-style URLs with their query",
		func(url string) {
			a := rawCall(http.MethodPost, dispatch, dispatchBody(map[string]any{"url": url, "method": "GET", "username": "admin", "data": map[string]any{}}), jsonHeader())
			Expect(a.Status).To(Equal(http.StatusOK), a.Body)
			Expect(a.Env).To(HaveKeyWithValue("result", true))
			Expect(a.Env).To(HaveKeyWithValue("message", "success"))
			d := dataOf(a)
			Expect(d).To(HaveKeyWithValue("user", "admin"))
			Expect(d["hosts"]).To(ContainElement(HaveKeyWithValue("id", "2-1")))
		},
		Entry("slash then query", "/bk_plugin/plugin_api/hosts/?biz_cc_id=2"),
		Entry("query without the slash", "/bk_plugin/plugin_api/hosts?biz_cc_id=2"),
	)

	It("merges dumped_data into data in a JSON body", func() {
		a := rawCall(http.MethodPost, dispatch, dispatchBody(map[string]any{
			"url": "/bk_plugin/plugin_api/hosts/", "method": "get", "username": "admin", "data": map[string]any{}, "dumped_data": `{"biz_cc_id":"3"}`,
		}), jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(dataOf(a)["hosts"]).To(ContainElement(HaveKeyWithValue("id", "3-1")))
	})

	It("forwards a multipart dispatch exactly as bk-sops sends a form with a file", func() {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		Expect(mw.WriteField("url", "/bk_plugin/plugin_api/upload/")).To(Succeed())
		Expect(mw.WriteField("method", "POST")).To(Succeed())
		Expect(mw.WriteField("username", "admin")).To(Succeed())
		Expect(mw.WriteField("dumped_data", `{"biz":"2"}`)).To(Succeed())
		fw, err := mw.CreateFormFile("file", "a.txt")
		Expect(err).NotTo(HaveOccurred())
		_, _ = fw.Write([]byte("hello"))
		Expect(mw.Close()).To(Succeed())
		a := rawCall(http.MethodPost, dispatch, buf.String(), map[string]string{"Content-Type": mw.FormDataContentType()})
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(a.Env).To(HaveKeyWithValue("result", true))
		d := dataOf(a)
		Expect(d).To(HaveKeyWithValue("file_name", "a.txt"))
		Expect(d).To(HaveKeyWithValue("content", "hello"))
		Expect(d).To(HaveKeyWithValue("fields", map[string]any{"biz": "2"}))
		Expect(d).To(HaveKeyWithValue("user", "admin"))
	})

	It("answers a plugin API's own 400 as PY does: 200, result true, its body as data", func() {
		a := rawCall(http.MethodPost, dispatch, dispatchBody(map[string]any{"url": "/bk_plugin/plugin_api/hosts/", "method": "GET", "username": "admin"}), jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(a.Env).To(HaveKeyWithValue("result", true))
		Expect(a.Env).To(HaveKeyWithValue("data", map[string]any{"error": "biz_cc_id is required"}))
	})

	It("answers a path with no plugin API 404 '404 error: <url>'", func() {
		a := rawCall(http.MethodPost, dispatch, dispatchBody(map[string]any{"url": "/bk_plugin/plugin_api/nope/", "method": "GET", "username": "admin"}), jsonHeader())
		Expect(a.Status).To(Equal(http.StatusNotFound))
		Expect(a.Env).To(HaveKeyWithValue("result", false))
		Expect(a.Env).To(HaveKeyWithValue("message", HavePrefix("404 error: /bk_plugin/plugin_api/nope/")))
	})

	DescribeTable("refuses what the serializer refuses with 400 naming the field",
		func(body map[string]any, field string) {
			a := rawCall(http.MethodPost, dispatch, dispatchBody(body), jsonHeader())
			Expect(a.Status).To(Equal(http.StatusBadRequest), a.Body)
			Expect(a.Env).To(HaveKeyWithValue("result", false))
			Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring(field)))
		},
		Entry("url outside plugin_api", map[string]any{"url": "/bk_plugin/invoke/1.0.0", "method": "GET", "username": "admin"}, "url"),
		Entry("method PUT", map[string]any{"url": "/bk_plugin/plugin_api/hosts/", "method": "PUT", "username": "admin"}, "method"),
		Entry("blank username", map[string]any{"url": "/bk_plugin/plugin_api/hosts/", "method": "GET", "username": ""}, "username"),
		Entry("dumped_data not JSON (PY: 500)", map[string]any{"url": "/bk_plugin/plugin_api/hosts/", "method": "GET", "username": "admin", "dumped_data": "{"}, "dumped_data"),
	)

	It("passes on the body's user, never the caller's Bk-Plugin-Username", func() {
		a := rawCall(http.MethodPost, dispatch, dispatchBody(map[string]any{"url": "/bk_plugin/plugin_api/hosts/?biz_cc_id=1", "method": "GET", "username": "admin"}),
			map[string]string{"Content-Type": "application/json", "Bk-Plugin-Username": "root", "Bk-Plugin-App-Code": "evil"})
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(dataOf(a)).To(HaveKeyWithValue("user", "admin"))
	})
})

var _ = Describe("parity: direct plugin APIs (PY urls.py plugin_api/, openapi/, private/)", func() {
	It("answers a plugin API as the pod does, with no envelope, for a known user", func() {
		a := rawCall(http.MethodGet, stdapi.PluginAPIPath("formapi", stdapi.APIFamilyPlugin, "hosts/?biz_cc_id=5"), "",
			map[string]string{stdapi.HeaderUsername: "u1", "Bk-Plugin-Username": "root"})
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(a.Env).NotTo(HaveKey("result"))
		Expect(a.Env).To(HaveKeyWithValue("user", "u1"))
		Expect(a.Env["hosts"]).To(ContainElement(HaveKeyWithValue("id", "5-1")))
	})

	It("passes the API's own status back", func() {
		a := rawCall(http.MethodGet, stdapi.PluginAPIPath("formapi", stdapi.APIFamilyPlugin, "hosts"), "", map[string]string{stdapi.HeaderUsername: "u1"})
		Expect(a.Status).To(Equal(http.StatusBadRequest))
		Expect(a.Env).To(Equal(map[string]any{"error": "biz_cc_id is required"}))
	})

	DescribeTable("needs the identity each family's gateway resource needs",
		func(family string, header map[string]string, status int) {
			a := rawCall(http.MethodGet, stdapi.PluginAPIPath("formapi", family, "ping/"), "", header)
			Expect(a.Status).To(Equal(status), a.Body)
			if status == http.StatusOK {
				Expect(a.Env).To(HaveKeyWithValue("app", header[stdapi.HeaderAppCode]))
			}
		},
		Entry("plugin_api without a user", stdapi.APIFamilyPlugin, map[string]string{stdapi.HeaderAppCode: "bk_sops"}, http.StatusUnauthorized),
		Entry("openapi with an app", stdapi.APIFamilyOpen, map[string]string{stdapi.HeaderAppCode: "bk_sops", "Bk-Plugin-App-Code": "evil"}, http.StatusOK),
		Entry("openapi without an app", stdapi.APIFamilyOpen, map[string]string{stdapi.HeaderUsername: "u1"}, http.StatusUnauthorized),
		Entry("private with both", stdapi.APIFamilyPrivate, map[string]string{stdapi.HeaderAppCode: "bk_sops", stdapi.HeaderUsername: "u1"}, http.StatusOK),
		Entry("private without a user", stdapi.APIFamilyPrivate, map[string]string{stdapi.HeaderAppCode: "bk_sops"}, http.StatusUnauthorized),
	)
})

// finishReceiver records the finish callbacks it gets, answering each with
// the next of its answers (the last one repeats).
type finishReceiver struct {
	mu      sync.Mutex
	bodies  []string
	ctypes  []string
	answers []func(http.ResponseWriter)
	srv     *httptest.Server
}

func newFinishReceiver(answers ...func(http.ResponseWriter)) *finishReceiver {
	f := &finishReceiver{answers: answers}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.bodies = append(f.bodies, string(b))
		f.ctypes = append(f.ctypes, r.Header.Get("Content-Type"))
		n := len(f.bodies)
		f.mu.Unlock()
		answer := f.answers[min(n, len(f.answers))-1]
		answer(w)
	}))
	DeferCleanup(f.srv.Close)
	return f
}

func (f *finishReceiver) received() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.bodies...)
}

func answerJSON(status int, body string) func(http.ResponseWriter) {
	return func(w http.ResponseWriter) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// invokeNotifier invokes the finish-callback example as bk-sops does.
func invokeNotifier(inputs string, callbackURL string, data string) rawAnswer {
	GinkgoHelper()
	body := `{"inputs":` + inputs + `,"context":{"plugin_callback_info":{"url":"` + callbackURL + `","data":` + data + `}}}`
	return rawCall(http.MethodPost, stdapi.InvokePath("notifier", "1.0.0"), body, jsonHeader())
}

var _ = Describe("parity: the finish-callback mode (PY runtime/executor.py, runtime/callbacker.py)", func() {
	// This spec once saw the finish notification POSTed twice (issue 21).
	// The cause was in the manager: a reconcile that notified conflicted
	// with the shim's invoke-answered-pending annotation, reread and wrote
	// Notified; the annotation's update event requeued the invocation, and
	// the next reconcile read a cached copy without Notified that passed
	// writeExpectations.stale (it compared only attempt, invoke count and
	// terminal) and POSTed again. Expectations now require the Notified and
	// archived marks written (internal/controller/invocation/expectations.go);
	// the next spec provokes the race.
	It("POSTs exactly data once a later execute ends SUCCESS, and schedule already answers 4", func() {
		rcv := newFinishReceiver(answerJSON(200, `{"result": true, "message": "success"}`))
		a := invokeNotifier(`{"polls":1}`, rcv.srv.URL+"/taskflow/api/v4/nodes/callback/tok/", `{"node":"n1"}`)
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(dataOf(a)).To(HaveKeyWithValue("state", BeNumerically("==", 2)))
		traceID := a.Env["trace_id"].(string)
		Eventually(rcv.received).Should(HaveLen(1))
		Expect(rcv.received()[0]).To(MatchJSON(`{"node":"n1"}`))
		rcv.mu.Lock()
		Expect(rcv.ctypes[0]).To(Equal("application/json"))
		rcv.mu.Unlock()
		// bk-sops schedules once, right after the POST: no stale state.
		s := rawCall(http.MethodGet, stdapi.SchedulePath("notifier", traceID), "", nil)
		Expect(dataOf(s)).To(HaveKeyWithValue("state", BeNumerically("==", 4)))
		Consistently(rcv.received, 2*time.Second, 200*time.Millisecond).Should(HaveLen(1), "exactly one POST")
	})

	// The race of the spec above made likely: the receiver changes an
	// annotation of the invocation while the manager's notification is in
	// flight, so an update event requeues the invocation during the
	// reconcile that notifies. It POSTed twice on its 2nd run before the
	// expectations covered the Notified mark.
	It("does not POST again when the invocation is touched while it notifies", func() {
		var mu sync.Mutex
		var bodies []string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			mu.Lock()
			bodies = append(bodies, string(b))
			n := len(bodies)
			mu.Unlock()
			if n == 1 {
				// An annotation change while the POST is answered: the
				// AnnotationChangedPredicate wakes the reconciler again.
				name := r.Header.Get(protocol.HeaderTraceID)
				patch := []byte(`{"metadata":{"annotations":{"test.bkplugin.io/poke":"1"}}}`)
				Expect(k8sClient.Patch(suiteCtx, &bkv1.PluginInvocation{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}},
					client.RawPatch(types.MergePatchType, patch))).To(Succeed())
			}
			answerJSON(200, `{"result": true}`)(w)
		}))
		DeferCleanup(srv.Close)
		received := func() int { mu.Lock(); defer mu.Unlock(); return len(bodies) }
		a := invokeNotifier(`{"polls":1}`, srv.URL+"/cb/", `{"node":"n1"}`)
		Expect(dataOf(a)).To(HaveKeyWithValue("state", BeNumerically("==", 2)), a.Body)
		Eventually(received, 30*time.Second).Should(Equal(1))
		Consistently(received, 3*time.Second, 100*time.Millisecond).Should(Equal(1), "exactly one POST")
	})

	It("POSTs the same data when the job ends FAIL, and schedule answers 5", func() {
		rcv := newFinishReceiver(answerJSON(200, `{"result": true}`))
		a := invokeNotifier(`{"polls":1,"fail":true}`, rcv.srv.URL+"/cb/", `{}`)
		traceID := a.Env["trace_id"].(string)
		Eventually(rcv.received).Should(HaveLen(1))
		Expect(rcv.received()[0]).To(MatchJSON(`{}`))
		s := rawCall(http.MethodGet, stdapi.SchedulePath("notifier", traceID), "", nil)
		Expect(dataOf(s)).To(HaveKeyWithValue("state", BeNumerically("==", 5)))
		Expect(dataOf(s)).To(HaveKeyWithValue("err", ContainSubstring("failed")))
	})

	It("does not POST when the invoke answer already carried the final state", func() {
		rcv := newFinishReceiver(answerJSON(200, `{"result": true}`))
		a := invokeNotifier(`{"polls":0}`, rcv.srv.URL+"/cb/", `{}`)
		Expect(dataOf(a)).To(HaveKeyWithValue("state", BeNumerically("==", 4)))
		Consistently(rcv.received, 2*time.Second, 200*time.Millisecond).Should(BeEmpty())
	})

	It("retries until the receiver answers JSON with a true result", func() {
		rcv := newFinishReceiver(answerJSON(500, `{}`), answerJSON(200, `{"result": false}`), answerJSON(200, `{"result": true}`))
		a := invokeNotifier(`{"polls":1}`, rcv.srv.URL+"/cb/", `{"n":1}`)
		traceID := a.Env["trace_id"].(string)
		Eventually(rcv.received).Should(HaveLen(3))
		Eventually(func() bool {
			return apimeta.IsStatusConditionTrue(getInvocation(traceID).Status.Conditions, bkv1.ConditionNotified)
		}).Should(BeTrue())
		Expect(getInvocation(traceID).Status.State).To(Equal(bkv1.StateSuccess))
	})

	It("answers a callback-mode invoke without a url 200/true/5 'context validation error' and creates nothing", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("notifier", "1.0.0"), `{"inputs":{"polls":1},"context":{"plugin_callback_info":{"data":{}}}}`, jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK))
		Expect(a.Env).To(HaveKeyWithValue("result", true))
		d := dataOf(a)
		Expect(d).To(HaveKeyWithValue("state", BeNumerically("==", 5)))
		Expect(d).To(HaveKeyWithValue("err", HavePrefix("context validation error")))
		Expect(d).To(HaveKeyWithValue("outputs", BeNil()))
	})

	It("ignores plugin_callback_info for a version without the mode", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("poller", "1.0.0"),
			`{"inputs":{"polls":1,"interval":1},"context":{"plugin_callback_info":{"url":"http://127.0.0.1:1/","data":{}}}}`, jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(getInvocation(a.Env["trace_id"].(string)).Spec.FinishNotification).To(BeNil())
	})
})

var _ = Describe("extensions: cancel and timeout", func() {
	It("cancels a running invocation, which ends FAIL cancelled", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("poller", "1.0.0"), `{"inputs":{"polls":100,"interval":1},"context":{}}`, jsonHeader())
		traceID := a.Env["trace_id"].(string)
		c := rawCall(http.MethodPost, stdapi.CancelPath("poller", traceID), "", nil)
		Expect(c.Status).To(Equal(http.StatusOK), c.Body)
		Expect(c.Env).To(HaveKeyWithValue("result", true))
		Expect(dataOf(c)).To(HaveKeyWithValue("trace_id", traceID))
		final, err := newClient(bkclient.Options{}).WaitTerminal(suiteCtx, "poller", traceID, 100*time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(final.State.String()).To(Equal("FAIL"))
		Expect(final.Err).To(ContainSubstring("cancel"))
	})

	It("answers cancel of an unknown trace id as schedule does", func() {
		c := rawCall(http.MethodPost, stdapi.CancelPath("poller", "0123456789abcdef0123456789abcdef"), "", nil)
		Expect(c.Status).To(Equal(http.StatusOK))
		Expect(c.Env).To(HaveKeyWithValue("result", false))
	})

	It("ends an invocation past the invoke body's timeout FAIL timeout", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("poller", "1.0.0"), `{"inputs":{"polls":100,"interval":1},"context":{},"timeout":1}`, jsonHeader())
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		traceID := a.Env["trace_id"].(string)
		Expect(*getInvocation(traceID).Spec.ActiveDeadlineSeconds).To(BeEquivalentTo(1))
		final, err := newClient(bkclient.Options{}).WaitTerminal(suiteCtx, "poller", traceID, 100*time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(final.State.String()).To(Equal("FAIL"))
		Expect(final.Err).To(ContainSubstring("timeout"))
	})

	It("refuses a timeout that is not a positive number of seconds", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("poller", "1.0.0"), `{"inputs":{},"context":{},"timeout":0}`, jsonHeader())
		Expect(a.Status).To(Equal(http.StatusBadRequest))
		Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring("timeout")))
	})

	It("tells the plugin pod's OnCancel hook, with its storage, when cancelled and when timed out", func() {
		a := rawCall(http.MethodPost, stdapi.InvokePath("stopper", "1.0.0"), `{"inputs":{},"context":{}}`, jsonHeader())
		traceID := a.Env["trace_id"].(string)
		Expect(dataOf(a)).To(HaveKeyWithValue("state", BeNumerically("==", 2)))
		rawCall(http.MethodPost, stdapi.CancelPath("stopper", traceID), "", nil)
		Eventually(stopperCancels).Should(Receive(Equal("job-of-" + traceID + " cancelled")))

		t := rawCall(http.MethodPost, stdapi.InvokePath("stopper", "1.0.0"), `{"inputs":{},"context":{},"timeout":1}`, jsonHeader())
		timedOut := t.Env["trace_id"].(string)
		Eventually(stopperCancels).Should(Receive(Equal("job-of-" + timedOut + " timeout")))
		final, err := newClient(bkclient.Options{}).WaitTerminal(suiteCtx, "stopper", timedOut, 100*time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(final.Err).To(Equal("timeout"))
	})
})

// parityWaitingCallbacker starts a callbacker invocation that waits in
// CALLBACK and returns its trace id and the path of its callback URL.
func parityWaitingCallbacker() (traceID, callbackPath string) {
	GinkgoHelper()
	res, err := newClient(bkclient.Options{}).Invoke(suiteCtx, "callbacker", "1.0.0", invokeReq(nil), bkclient.InvokeOptions{})
	Expect(err).NotTo(HaveOccurred())
	Expect(res.State).To(Equal(protocol.StateCallback))
	u, ok := outputsOf(res.Outputs)["callback_url"].(string)
	Expect(ok).To(BeTrue(), "callback_url in %s", res.Outputs)
	return res.TraceID, strings.TrimPrefix(u, shimURL)
}

// The callback route, from the reference's own code (2.3.15):
// services/bpf_service/urls.py routes POST callback/<str:token>/ to
// api/callback.py's PluginCallback.post, which answers a bare
// {result, message} (no envelope): 400 with parse_callback_token's message
// for a token it cannot decrypt, 400 {"result": false, "message":
// "invalid request body"} when json.loads(request.body) raises (an empty
// body included), 400 when runtime/callback/api.py's callback() finds no
// schedule of the trace id in state CALLBACK (an unknown trace id: state
// None), and 200 {"result": true, "message": "callback success"} when it
// queues the callback. Deliberate differences are in docs/api.md.
var _ = Describe("parity: callback (PY api/callback.py, runtime/callback/api.py)", func() {
	post := func(path, body string) rawAnswer {
		GinkgoHelper()
		return rawCall(http.MethodPost, path, body, jsonHeader())
	}

	It("answers a queued callback 200 {result: true, message: 'callback success'} and nothing else", func() {
		traceID, path := parityWaitingCallbacker()
		a := post(path, `{"job":"done"}`)
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(a.Env).To(Equal(map[string]any{"result": true, "message": "callback success"}))
		final, err := newClient(bkclient.Options{}).WaitTerminal(suiteCtx, "callbacker", traceID, 50*time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		Expect(final.State).To(Equal(protocol.StateSuccess))
	})

	It("takes any JSON value as the callback data, as json.loads does", func() {
		for _, body := range []string{`[1,2]`, `"text"`, `3`, `null`} {
			traceID, path := parityWaitingCallbacker()
			a := post(path, body)
			Expect(a.Status).To(Equal(http.StatusOK), "%s: %s", body, a.Body)
			Expect(a.Env).To(HaveKeyWithValue("message", "callback success"), body)
			Eventually(func() []string { return getInvocation(traceID).Status.DeliveredCallbacks }).ShouldNot(BeEmpty(), body)
		}
	})

	DescribeTable("answers a body json.loads refuses 400 'invalid request body', recording nothing",
		func(body string) {
			traceID, path := parityWaitingCallbacker()
			a := post(path, body)
			Expect(a.Status).To(Equal(http.StatusBadRequest), a.Body)
			Expect(a.Env).To(HaveKeyWithValue("result", false))
			Expect(a.Env).To(HaveKeyWithValue("message", HavePrefix("invalid request body")))
			Expect(a.Env).To(HaveLen(2), "a bare {result, message}: %s", a.Body)
			Expect(getInvocation(traceID).Annotations).NotTo(HaveKey(HavePrefix(bkv1.CallbackAnnotationPrefix)))
		},
		Entry("an empty body", ""),
		Entry("white space only", "  \n"),
		Entry("not JSON", `{job: done}`),
	)

	It("answers a token it cannot read 400 with result false", func() {
		a := post(stdapi.CallbackPath("callbacker", "not-a-token"), `{}`)
		Expect(a.Status).To(Equal(http.StatusBadRequest), a.Body)
		Expect(a.Env).To(HaveKeyWithValue("result", false))
		Expect(a.Env).To(HaveKeyWithValue("message", HavePrefix("invalid callback token")))
	})

	It("answers a token whose trace id names no invocation 400, not 404 (PY: no schedule, state None)", func() {
		never := newTraceID()
		token, err := protocol.SignToken(protocol.DeriveBoundKey(callbackKey, never, "no-such-uid"),
			protocol.TokenClaims{TraceID: never, CallbackID: "cb", ExpiresAt: time.Now().Add(time.Hour).Unix()})
		Expect(err).NotTo(HaveOccurred())
		a := post(stdapi.CallbackPath("callbacker", token), `{"job":"done"}`)
		Expect(a.Status).To(Equal(http.StatusBadRequest), a.Body)
		Expect(a.Env).To(Equal(map[string]any{"result": false, "message": "callback fail: no invocation with trace id " + never}))
	})

	It("answers a callback for a finished invocation 400 (PY: state is not CALLBACK)", func() {
		traceID, path := parityWaitingCallbacker()
		Expect(post(path, `{"job":"done"}`).Status).To(Equal(http.StatusOK))
		_, err := newClient(bkclient.Options{}).WaitTerminal(suiteCtx, "callbacker", traceID, 50*time.Millisecond, nil)
		Expect(err).NotTo(HaveOccurred())
		a := post(path, `{"job":"again"}`)
		Expect(a.Status).To(Equal(http.StatusBadRequest), a.Body)
		Expect(a.Env).To(HaveKeyWithValue("result", false))
	})

	It("serves the route with and without the trailing slash PY's urls.py requires", func() {
		_, path := parityWaitingCallbacker()
		a := post(strings.TrimSuffix(path, "/"), `{"job":"done"}`)
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		Expect(a.Env).To(HaveKeyWithValue("message", "callback success"))
	})
})
