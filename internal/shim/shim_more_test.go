//go:build envtest

package shim_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/shim"
	bkclient "github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

var _ = Describe("allow_scope", func() {
	DescribeTable("scoped accepts bk_sops only from projects 1 and 2; other apps pass",
		func(app string, scope bkclient.Scope, allowed bool) {
			c := newClient(bkclient.Options{AppCode: app, Scope: scope})
			res, err := c.Invoke(suiteCtx, "scoped", "1.0.0", invokeReq(nil), bkclient.InvokeOptions{})
			if allowed {
				Expect(err).NotTo(HaveOccurred())
				Expect(res.State).To(Equal(protocol.StateSuccess))
				return
			}
			var apiErr *bkclient.APIError
			Expect(errors.As(err, &apiErr)).To(BeTrue(), "%v", err)
			Expect(apiErr.StatusCode).To(Equal(http.StatusForbidden))
			Expect(apiErr.Message).To(ContainSubstring("allow_scope permits only project"))
		},
		Entry("bk_sops in project 1", "bk_sops", bkclient.Scope{Type: "project", Value: "1"}, true),
		Entry("bk_sops in project 2", "bk_sops", bkclient.Scope{Type: "project", Value: "2"}, true),
		Entry("bk_sops in project 3", "bk_sops", bkclient.Scope{Type: "project", Value: "3"}, false),
		Entry("bk_sops with another scope type", "bk_sops", bkclient.Scope{Type: "biz", Value: "1"}, false),
		Entry("bk_sops without scope", "bk_sops", bkclient.Scope{}, false),
		Entry("another app without scope", "bk_job", bkclient.Scope{}, true),
		// A call with no app code at all is refused: trust_test.go.
	)
})

var _ = Describe("plugin_api_dispatch and logs", func() {
	It("forwards to the plugin pod and answers its data unchanged", func() {
		data, err := newClient(bkclient.Options{}).PluginAPIDispatch(suiteCtx, "hello", stdapi.PluginAPIDispatchRequest{
			URL: "/bk_plugin/plugin_api/punctuations", Method: "get", Username: "admin", Data: json.RawMessage(`{"q":"x"}`),
		})
		Expect(err).NotTo(HaveOccurred())
		var list []map[string]string
		Expect(json.Unmarshal(data, &list)).To(Succeed())
		Expect(list).To(ContainElement(map[string]string{"text": "full stop", "value": "."}))
	})

	It("answers 502 naming the pod when the plugin pod does not answer", func() {
		down := "http://127.0.0.1:1"
		plv := &bkv1.PluginVersion{
			ObjectMeta: metav1.ObjectMeta{Name: "ghost-1-0-0", Namespace: namespace},
			Spec:       bkv1.PluginVersionSpec{Plugin: "ghost", Version: "1.0.0", Endpoint: bkv1.PluginEndpoint{URL: &down}},
		}
		Expect(k8sClient.Create(suiteCtx, plv)).To(Succeed())
		body := `{"url":"/bk_plugin/plugin_api/x","method":"POST","username":"u","data":{"a":1}}`
		Eventually(func() rawAnswer {
			return rawCall(http.MethodPost, stdapi.PluginAPIDispatchPath("ghost"), body, map[string]string{"Content-Type": "application/json"})
		}).Should(And(
			HaveField("Status", http.StatusBadGateway),
			HaveField("Env", HaveKeyWithValue("message", ContainSubstring("plugin pod "+down+" of plugin ghost did not answer"))),
		))
	})

	It("answers an invocation's events and plugin pod lines", func() {
		c := newClient(bkclient.Options{})
		res, err := c.Invoke(suiteCtx, "hello", "1.0.0", invokeReq(map[string]any{"name": "logs"}), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		Eventually(func(g Gomega) {
			l, err := c.Logs(suiteCtx, "hello", res.TraceID)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(l.Log).To(ContainSubstring("Succeeded"), "the manager's event")
			g.Expect(l.Log).To(ContainSubstring("greeted"), "the plugin's own line")
		}).Should(Succeed())
	})
})

var _ = Describe("operations", func() {
	It("serves /healthz, /readyz and metrics of what it served", func() {
		Expect(httpStatus(shimURL + shim.HealthzPath)).To(Equal(http.StatusOK))
		Expect(httpStatus(shimURL + shim.ReadyzPath)).To(Equal(http.StatusOK))
		c := newClient(bkclient.Options{})
		_, err := c.Meta(suiteCtx, "hello")
		Expect(err).NotTo(HaveOccurred())
		_, err = c.Invoke(suiteCtx, "hello", "1.0.0", invokeReq(map[string]any{"name": "metrics"}), bkclient.InvokeOptions{})
		Expect(err).NotTo(HaveOccurred())
		resp, err := http.Get(shimURL + shim.MetricsPath)
		Expect(err).NotTo(HaveOccurred())
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		Expect(string(body)).To(ContainSubstring(`bkplugin_shim_requests_total{code="200",method="GET",route="/plugins/{code}/bk_plugin/meta/"}`))
		Expect(string(body)).To(ContainSubstring(`bkplugin_shim_invoke_waits_total{outcome="executed"}`))
	})

	It("requires a bearer token when configured, except for callbacks and probes, and shuts down gracefully", func() {
		url, stop := startShim(shim.Options{
			Config: cfg, Namespace: namespace, CallbackKey: callbackKey, AuthTokens: []string{"first", "second"},
		}, false)

		anon, err := bkclient.New(url, bkclient.Options{})
		Expect(err).NotTo(HaveOccurred())
		_, err = anon.ListPlugins(suiteCtx)
		Expect(err).To(MatchError(ContainSubstring("401")))
		wrong, _ := bkclient.New(url, bkclient.Options{BearerToken: "third"})
		_, err = wrong.ListPlugins(suiteCtx)
		Expect(err).To(MatchError(ContainSubstring("bearer token")))
		authed, _ := bkclient.New(url, bkclient.Options{BearerToken: "second"})
		_, err = authed.ListPlugins(suiteCtx)
		Expect(err).NotTo(HaveOccurred())

		// A callback passes without a bearer token: its bad token is what
		// gets refused.
		err = anon.Callback(suiteCtx, "hello", "bad.token", nil)
		Expect(err).To(MatchError(ContainSubstring("400")))
		Expect(httpStatus(url + shim.HealthzPath)).To(Equal(http.StatusOK))

		Expect(stop()).To(Succeed())
		Expect(httpStatus(url+shim.HealthzPath)).To(Equal(0), "stopped listening")
	})
})
