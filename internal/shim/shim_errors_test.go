//go:build envtest

package shim_test

import (
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	bkclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

var _ = Describe("client mistakes", func() {
	json := map[string]string{"Content-Type": "application/json"}
	invoke := stdapi.InvokePath("hello", "1.0.0")
	dispatch := stdapi.PluginAPIDispatchPath("hello")

	DescribeTable("bad bodies get 4xx with the envelope and a message naming the problem",
		func(method, path, body string, status int, message string) {
			a := rawCall(method, path, body, json)
			Expect(a.Status).To(Equal(status), a.Body)
			Expect(a.Env).To(HaveKeyWithValue("result", false), a.Body)
			Expect(a.Env).To(HaveKeyWithValue("data", BeNil()))
			Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring(message)))
			Expect(a.Env).To(HaveKey("trace_id"))
		},
		Entry("malformed JSON", http.MethodPost, invoke, `{"inputs":`, 400, "not valid JSON"),
		Entry("empty body", http.MethodPost, invoke, ``, 400, "body is empty"),
		Entry("not an object", http.MethodPost, invoke, `[1,2]`, 400, "must be a JSON object"),
		Entry("inputs not an object", http.MethodPost, invoke, `{"inputs":[1],"context":{}}`, 400, "inputs must be a JSON object"),
		Entry("inputs missing", http.MethodPost, invoke, `{"context":{}}`, 400, "inputs is required"),
		Entry("context not an object", http.MethodPost, invoke, `{"inputs":{},"context":"x"}`, 400, "context must be a JSON object"),
		Entry("two JSON values", http.MethodPost, invoke, `{"inputs":{},"context":{}} {}`, 400, "more than one JSON value"),
		Entry("body too large", http.MethodPost, invoke, `{"inputs":{"x":"`+strings.Repeat("a", maxBodyBytes)+`"},"context":{}}`, 413, "bytes"),
		Entry("bad constraint", http.MethodPost, stdapi.InvokePath("hello", "not a version"), `{"inputs":{},"context":{}}`, 400, "constraint"),
		Entry("dispatch url outside plugin_api", http.MethodPost, dispatch, `{"url":"/bk_plugin/execute/1.0.0","method":"GET","username":"u"}`, 400, "/bk_plugin/plugin_api/"),
		Entry("dispatch url climbing out", http.MethodPost, dispatch, `{"url":"/bk_plugin/plugin_api/../execute/1.0.0","method":"POST","username":"u"}`, 400, "climb out"),
		Entry("dispatch method", http.MethodPost, dispatch, `{"url":"/bk_plugin/plugin_api/punctuations","method":"DELETE","username":"u"}`, 400, "only GET and POST"),
		Entry("dispatch without username", http.MethodPost, dispatch, `{"url":"/bk_plugin/plugin_api/punctuations","method":"GET"}`, 400, "username is required"),
		Entry("dispatch data not an object", http.MethodPost, dispatch, `{"url":"/bk_plugin/plugin_api/punctuations","method":"GET","username":"u","data":[1]}`, 400, "data must be a JSON object"),
		Entry("dispatch url a number", http.MethodPost, dispatch, `{"url":5,"method":"GET","username":"u"}`, 400, "field url must be a JSON string"),
		Entry("wrong method", http.MethodGet, invoke, ``, 405, "not allowed"),
		Entry("no such route", http.MethodGet, "/nothing/here", ``, 404, "no route"),
	)

	It("refuses a trace id header that is not 32 lowercase hex instead of replacing it", func() {
		a := rawCall(http.MethodPost, invoke, `{"inputs":{"name":"x"},"context":{}}`, map[string]string{stdapi.HeaderTraceID: "ABC"})
		Expect(a.Status).To(Equal(http.StatusBadRequest))
		Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring(stdapi.HeaderTraceID)))
	})

	DescribeTable("unknown plugins, versions and trace ids get a 404 envelope",
		func(method, path, body, message string) {
			a := rawCall(method, path, body, json)
			Expect(a.Status).To(Equal(http.StatusNotFound), a.Body)
			Expect(a.Env).To(HaveKeyWithValue("result", false))
			Expect(a.Env).To(HaveKeyWithValue("message", ContainSubstring(message)))
		},
		Entry("meta of an unknown plugin", http.MethodGet, stdapi.MetaPath("nope"), "", "plugin nope not found"),
		Entry("detail of an unknown version", http.MethodGet, stdapi.DetailPath("hello", "9.9.9"), "", "plugin hello has no version 9.9.9"),
		Entry("invoke of an unknown plugin", http.MethodPost, stdapi.InvokePath("nope", "1.0.0"), `{"inputs":{},"context":{}}`, "plugin nope not found"),
		Entry("invoke of an unknown version", http.MethodPost, stdapi.InvokePath("hello", "9.9.9"), `{"inputs":{},"context":{}}`, "plugin hello has no version 9.9.9"),
		Entry("invoke of an unmatched constraint", http.MethodPost, stdapi.InvokePath("hello", "^2.0"), `{"inputs":{},"context":{}}`, "plugin hello has no version ^2.0"),
		Entry("logs of an unknown trace id", http.MethodGet, stdapi.LogsPath("hello", "0123456789abcdef0123456789abcdef"), "", "no invocation"),
		Entry("dispatch to an unknown plugin", http.MethodPost, stdapi.PluginAPIDispatchPath("nope"), `{"url":"/bk_plugin/plugin_api/x","method":"GET","username":"u"}`, "plugin nope not found"),
		Entry("dispatch to an unknown plugin API", http.MethodPost, dispatch, `{"url":"/bk_plugin/plugin_api/nothing","method":"GET","username":"u"}`, "404 error: /bk_plugin/plugin_api/nothing"),
	)

	DescribeTable("schedule of a trace id that names no invocation of the plugin answers as the Python framework: 200, result false",
		func(code, traceID string) {
			a := rawCall(http.MethodGet, stdapi.SchedulePath(code, traceID), "", nil)
			Expect(a.Status).To(Equal(http.StatusOK), a.Body)
			Expect(a.Env).To(HaveKeyWithValue("result", false))
			Expect(a.Env).To(HaveKeyWithValue("data", BeNil()))
			Expect(a.Env).To(HaveKeyWithValue("message", "can not find schedule for trace_id "+traceID))
		},
		Entry("unknown trace id", "hello", "0123456789abcdef0123456789abcdef"),
		Entry("malformed trace id", "hello", "xyz"),
	)

	It("answers 400 to a well-signed callback for an invocation that does not exist, as the Python framework does", func() {
		gone := "0123456789abcdef0123456789abcdef"
		token, err := protocol.SignToken(protocol.DeriveInvocationKey(callbackKey, gone), protocol.TokenClaims{TraceID: gone, CallbackID: "x"})
		Expect(err).NotTo(HaveOccurred())
		a := rawCall(http.MethodPost, stdapi.CallbackPath("hello", token), `{}`, json)
		Expect(a.Status).To(Equal(http.StatusBadRequest))
		Expect(a.Env).To(Equal(map[string]any{"result": false, "message": "callback fail: no invocation with trace id " + gone}))
	})

	It("tells sdk/client callers IsNotFound for an unknown trace id", func() {
		_, err := newClient(bkclient.Options{}).Schedule(suiteCtx, "hello", "0123456789abcdef0123456789abcdef")
		Expect(bkclient.IsNotFound(err)).To(BeTrue(), "%v", err)
	})
})
