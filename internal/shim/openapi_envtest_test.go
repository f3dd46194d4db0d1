//go:build envtest

package shim_test

import (
	"bytes"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/bkplugin/bk-plugin-operator/internal/shim/apidoc"
)

// The document the shim serves describes its real answers: each request
// below is sent over HTTP to the suite's shim, and both the request and
// the answer are validated against the operation the document has for
// them (status, content type, body schema).
var _ = Describe("OpenAPI document", func() {
	It("is served without a token and describes real answers", func() {
		resp, err := http.Get(shimURL + apidoc.Path)
		Expect(err).NotTo(HaveOccurred())
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		Expect(err).NotTo(HaveOccurred())
		Expect(resp.StatusCode).To(Equal(http.StatusOK))
		doc, err := openapi3.NewLoader().LoadFromData(body)
		Expect(err).NotTo(HaveOccurred())
		Expect(doc.Validate(suiteCtx)).To(Succeed())

		check := func(method, path, reqBody string, wantStatus int) map[string]any {
			GinkgoHelper()
			var rd io.Reader
			if reqBody != "" {
				rd = strings.NewReader(reqBody)
			}
			req, err := http.NewRequestWithContext(suiteCtx, method, shimURL+path, rd)
			Expect(err).NotTo(HaveOccurred())
			if reqBody != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			req.Header.Set("X-Bkplugin-App-Code", "openapi-check")
			route, params := findOperation(doc, method, req.URL.Path)
			Expect(route).NotTo(BeNil(), "the document has no operation for %s %s", method, req.URL.Path)
			in := &openapi3filter.RequestValidationInput{
				Request: req, PathParams: params, Route: route,
				Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc},
			}
			if reqBody != "" {
				in.Request = req.Clone(suiteCtx)
				in.Request.Body = io.NopCloser(strings.NewReader(reqBody))
			}
			// A request meant to be refused need not match the document;
			// its answer must.
			if wantStatus < http.StatusBadRequest {
				Expect(openapi3filter.ValidateRequest(suiteCtx, in)).To(Succeed(), "request %s %s", method, path)
			}
			a := rawCall(method, path, reqBody, map[string]string{"X-Bkplugin-App-Code": "openapi-check"})
			Expect(a.Status).To(Equal(wantStatus), "%s %s answered %s", method, path, a.Body)
			ct := "application/json"
			if a.Env == nil {
				ct = "text/plain"
			}
			out := &openapi3filter.ResponseValidationInput{
				RequestValidationInput: in, Status: a.Status,
				Header: http.Header{"Content-Type": []string{ct}},
				Body:   io.NopCloser(bytes.NewBufferString(a.Body)),
			}
			Expect(openapi3filter.ValidateResponse(suiteCtx, out)).To(Succeed(), "answer of %s %s: %s", method, path, a.Body)
			return a.Env
		}

		check(http.MethodGet, "/healthz", "", http.StatusOK)
		check(http.MethodGet, "/readyz", "", http.StatusOK)
		check(http.MethodGet, "/plugins/", "", http.StatusOK)
		check(http.MethodGet, "/plugins/hello/bk_plugin/meta/", "", http.StatusOK)
		check(http.MethodGet, "/plugins/hello/bk_plugin/detail/1.0.0", "", http.StatusOK)
		check(http.MethodGet, "/plugins/deployer/bk_plugin/detail/1.0.0", "", http.StatusOK)
		check(http.MethodGet, "/plugins/hello/bk_plugin/detail/9.9.9", "", http.StatusNotFound)
		env := check(http.MethodPost, "/plugins/hello/bk_plugin/invoke/1.0.0", `{"inputs": {"name": "OpenAPI"}, "context": {}}`, http.StatusOK)
		trace, _ := env["trace_id"].(string)
		Expect(trace).To(HaveLen(32))
		check(http.MethodPost, "/plugins/hello/bk_plugin/invoke/1.0.0", `{"inputs": [], "context": {}}`, http.StatusBadRequest)
		// A plugin that fails is answered 200 with err set.
		check(http.MethodPost, "/plugins/hello/bk_plugin/invoke/1.0.0", `{"inputs": {}, "context": {}}`, http.StatusOK)
		check(http.MethodGet, "/plugins/hello/bk_plugin/schedule/"+trace, "", http.StatusOK)
		check(http.MethodGet, "/plugins/hello/bk_plugin/schedule/"+newTraceID(), "", http.StatusOK)
		check(http.MethodGet, "/plugins/hello/bk_plugin/logs/"+trace, "", http.StatusOK)
		check(http.MethodGet, "/plugins/hello/bk_plugin/logs/"+trace+"?offset=0&limit=2", "", http.StatusOK)
		check(http.MethodGet, "/plugins/hello/bk_plugin/invocations?limit=5", "", http.StatusOK)
		check(http.MethodPost, "/plugins/hello/bk_plugin/callback/not-a-token/", `{}`, http.StatusBadRequest)
	})
})

// findOperation finds the document's operation for a request path, the
// way the router does: each {variable} is one segment but {path}, which is
// the rest, and {family}, one of three; a missing or extra trailing slash
// is forgiven.
func findOperation(doc *openapi3.T, method, path string) (*routers.Route, map[string]string) {
	for name, item := range doc.Paths.Map() {
		op := item.GetOperation(method)
		if op == nil {
			continue
		}
		var vars []string
		quoted := regexp.QuoteMeta(name)
		re := regexp.MustCompile(`\\\{([^{}\\]+)\\\}`).ReplaceAllStringFunc(quoted, func(v string) string {
			n := strings.Trim(v, `\{}`)
			vars = append(vars, n)
			switch n {
			case "path":
				return "(.+)"
			case "family":
				return "(plugin_api|openapi|private)"
			}
			return "([^/]+)"
		})
		m := regexp.MustCompile("^" + strings.TrimSuffix(re, "/") + "/?$").FindStringSubmatch(path)
		if m == nil {
			continue
		}
		params := map[string]string{}
		for i, v := range vars {
			params[v] = m[i+1]
		}
		return &routers.Route{Spec: doc, Path: name, PathItem: item, Method: method, Operation: op}, params
	}
	return nil, nil
}
