//go:build envtest

package shim_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/identity"
	"github.com/bkplugin/bk-plugin-operator/internal/shim"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// Issue 15, played against a shim with the shipped defaults: callers
// authenticate with bearer tokens mapped to app codes or the API
// gateway's JWT, and their own identity headers count for nothing.
var _ = Describe("verified identity (issue 15)", Ordered, func() {
	var (
		url  string
		stop func() error
		hdr  = func(kv ...string) map[string]string {
			m := map[string]string{}
			for i := 0; i < len(kv); i += 2 {
				m[kv[i]] = kv[i+1]
			}
			return m
		}
	)
	gatewayJWT := func(app string, verified bool) string {
		now := time.Now()
		tok := jwt.NewWithClaims(jwt.SigningMethodRS512, jwt.MapClaims{
			"iss": "APIGW", "nbf": now.Add(-300 * time.Second).Unix(), "exp": now.Add(1500 * time.Second).Unix(),
			"app":  map[string]any{"version": 1, "app_code": app, "verified": verified},
			"user": map[string]any{"version": 1, "username": "admin", "verified": verified},
		})
		tok.Header["kid"] = "bk-plugin"
		s, err := tok.SignedString(trustGatewayKey)
		if err != nil {
			panic(err) // called while the table is built: no assertion there
		}
		return s
	}
	// call sends a request to the trusting-nobody shim.
	call := func(method, path, body string, header map[string]string) rawAnswer {
		GinkgoHelper()
		saved := shimURL
		shimURL = url
		defer func() { shimURL = saved }()
		return rawCall(method, path, body, header)
	}

	BeforeAll(func() {
		url, stop = startShim(shim.Options{
			Config: cfg, Namespace: namespace, CallbackKey: callbackKey,
			Tokens:        identity.NewTokens(map[string]string{"job-token": "bk_job", "anon-token": ""}),
			GatewayKeys:   identity.StaticGatewayKeys(map[string]*rsa.PublicKey{"bk-plugin": &trustGatewayKey.PublicKey}),
			InvokeTimeout: invokeTimeout,
		}, false)
	})
	AfterAll(func() { Expect(stop()).To(Succeed()) })

	const scopedInvoke = "/plugins/scoped/bk_plugin/invoke/1.0.0"
	const body = `{"inputs":{},"context":{}}`

	It("records the JWT's verified app and user on the invocation", func() {
		traceID := newTraceID()
		a := call(http.MethodPost, scopedInvoke, body, hdr(identity.HeaderGatewayJWT, gatewayJWT("bk_sops", true),
			stdapi.HeaderScopeType, "project", stdapi.HeaderScopeValue, "1", stdapi.HeaderTraceID, traceID,
			stdapi.HeaderAppCode, "evil", stdapi.HeaderUsername, "root"))
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		inv := getInvocation(traceID)
		Expect(inv.Spec.Caller).NotTo(BeNil())
		Expect(*inv.Spec.Caller).To(Equal(bkv1.Caller{AppCode: "bk_sops", Username: "admin", ScopeType: "project", ScopeValue: "1"}))
	})

	DescribeTable("allow_scope holds on the verified app only",
		func(header map[string]string, want int, wantMsg string) {
			a := call(http.MethodPost, scopedInvoke, body, header)
			Expect(a.Status).To(Equal(want), a.Body)
			Expect(a.Body).To(ContainSubstring(wantMsg))
		},
		Entry("no credential at all", hdr(stdapi.HeaderAppCode, "bk_job"), http.StatusUnauthorized, "no credential"),
		Entry("bk_sops's own header, no app behind the token", hdr("Authorization", "Bearer anon-token",
			stdapi.HeaderAppCode, "bk_sops", stdapi.HeaderScopeType, "project", stdapi.HeaderScopeValue, "1"), http.StatusForbidden, "verified app"),
		Entry("the header left out", hdr("Authorization", "Bearer anon-token"), http.StatusForbidden, "verified app"),
		Entry("bk_sops's name in another case", hdr("Authorization", "Bearer anon-token", stdapi.HeaderAppCode, "BK_SOPS"), http.StatusForbidden, "verified app"),
		Entry("a JWT whose app the gateway did not verify", hdr(identity.HeaderGatewayJWT, gatewayJWT("bk_sops", false),
			stdapi.HeaderScopeType, "project", stdapi.HeaderScopeValue, "1"), http.StatusForbidden, "verified app"),
		Entry("bk_sops in another project", hdr(identity.HeaderGatewayJWT, gatewayJWT("bk_sops", true),
			stdapi.HeaderScopeType, "project", stdapi.HeaderScopeValue, "3"), http.StatusForbidden, "allow_scope permits only"),
		Entry("bk_sops without scope headers", hdr(identity.HeaderGatewayJWT, gatewayJWT("bk_sops", true)), http.StatusForbidden, "allow_scope permits only"),
		Entry("an unlisted verified app passes, as in the Python framework", hdr("Authorization", "Bearer job-token"), http.StatusOK, `"result":true`),
	)

	It("refuses a scope header sent twice", func() {
		req, err := http.NewRequestWithContext(suiteCtx, http.MethodPost, url+scopedInvoke, strings.NewReader(body))
		Expect(err).NotTo(HaveOccurred())
		req.Header.Set(identity.HeaderGatewayJWT, gatewayJWT("bk_sops", true))
		req.Header.Set(stdapi.HeaderScopeType, "project")
		req.Header.Add(stdapi.HeaderScopeValue, "1")
		req.Header.Add(stdapi.HeaderScopeValue, "3")
		resp, err := http.DefaultClient.Do(req)
		Expect(err).NotTo(HaveOccurred())
		resp.Body.Close()
		Expect(resp.StatusCode).To(Equal(http.StatusForbidden))
	})

	It("scope-checks plugin_api_dispatch like invoke", func() {
		const dispatch = "/plugins/scoped/bk_plugin/plugin_api_dispatch/"
		const req = `{"url":"/bk_plugin/plugin_api/anything/","method":"GET","username":"admin"}`
		a := call(http.MethodPost, dispatch, req, hdr("Authorization", "Bearer anon-token", stdapi.HeaderAppCode, "bk_sops"))
		Expect(a.Status).To(Equal(http.StatusForbidden), a.Body)
		a = call(http.MethodPost, dispatch, req, hdr(identity.HeaderGatewayJWT, gatewayJWT("bk_sops", true)))
		Expect(a.Status).To(Equal(http.StatusForbidden), a.Body)
		a = call(http.MethodPost, dispatch, req, hdr(identity.HeaderGatewayJWT, gatewayJWT("bk_sops", true),
			stdapi.HeaderScopeType, "project", stdapi.HeaderScopeValue, "2"))
		Expect(a.Status).To(Equal(http.StatusNotFound), "past the scope check, the plugin has no such API: %s", a.Body)
	})

	It("answers a plugin API's redirect as an error, never following it", func() {
		var stolen atomic.Int32
		thief := serve(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { stolen.Add(1) }))
		p := redirectingPlugin()
		pod := serve(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasPrefix(r.URL.Path, "/bk_plugin/plugin_api/") {
				http.Redirect(w, r, thief.URL+"/steal", http.StatusTemporaryRedirect)
				return
			}
			server.Handler(p).ServeHTTP(w, r)
		}))
		suite.WaitReady(suite.RegisterVersions(namespace, p, pod.URL))
		a := call(http.MethodPost, "/plugins/redirector/bk_plugin/plugin_api_dispatch/",
			`{"url":"/bk_plugin/plugin_api/x/","method":"POST","username":"admin","data":{"a":1}}`,
			hdr(identity.HeaderGatewayJWT, gatewayJWT("bk_job", true)))
		Expect(a.Status).To(Equal(http.StatusBadGateway), a.Body)
		Expect(a.Body).To(ContainSubstring("307"))
		Expect(stolen.Load()).To(BeZero(), "the shim followed the redirect, with the caller's JWT")
	})

	It("leaves no Secret behind when an invoke conflicts (409)", func() {
		traceID := newTraceID()
		auth := hdr("Authorization", "Bearer job-token", stdapi.HeaderTraceID, traceID)
		a := call(http.MethodPost, "/plugins/hello/bk_plugin/invoke/1.0.0", `{"inputs":{"name":"x"},"context":{}}`, auth)
		Expect(a.Status).To(Equal(http.StatusOK), a.Body)
		a = call(http.MethodPost, "/plugins/keeper/bk_plugin/invoke/1.0.0", `{"inputs":{"secret":"stolen-secret"},"context":{}}`, auth)
		Expect(a.Status).To(Equal(http.StatusConflict), a.Body)
		err := k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: namespace, Name: traceID + bkv1.SensitiveSecretSuffix}, &corev1.Secret{})
		Expect(apierrors.IsNotFound(err)).To(BeTrue(), "a conflicting invoke wrote %s%s: %v", traceID, bkv1.SensitiveSecretSuffix, err)
	})

	It("serves nothing without a credential but probes and callbacks", func() {
		Expect(call(http.MethodGet, "/plugins/", "", nil).Status).To(Equal(http.StatusUnauthorized))
		Expect(call(http.MethodGet, "/plugins/hello/bk_plugin/meta/", "", nil).Status).To(Equal(http.StatusUnauthorized))
		Expect(call(http.MethodPost, "/plugins/hello/bk_plugin/callback/bad.token/", "{}", nil).Status).To(Equal(http.StatusBadRequest))
		Expect(httpStatus(url + shim.HealthzPath)).To(Equal(http.StatusOK))
	})
})

// trustGatewayKey signs the suite's gateway JWTs. It is made when the spec
// tree is built, because the table's entries sign their tokens then.
var trustGatewayKey = func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
}()

// redirectingPlugin is served behind a pod whose plugin APIs redirect.
func redirectingPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "redirector", Description: "Test plugin whose pod redirects its APIs."})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, plugin.None]{
		Version: "1.0.0",
		Execute: func(*plugin.Context[plugin.None, plugin.None, plugin.None]) error { return nil },
	})
	return p
}
