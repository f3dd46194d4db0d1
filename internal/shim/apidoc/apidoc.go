// Package apidoc holds the OpenAPI 3 description of the shim's HTTP API
// (openapi.yaml, hand-maintained beside the router) and serves it as JSON.
// The shim's tests keep it true: one walks the router and compares every
// route and method with the document's paths and operations, another
// validates real answers against its schemas.
package apidoc

import (
	_ "embed"
	"net/http"

	"sigs.k8s.io/yaml"
)

// Path is where the shim serves the document, without a bearer token: it
// holds nothing secret and tools fetch it before they have one.
const Path = "/openapi.json"

//go:embed openapi.yaml
var source []byte

// JSON returns the document as JSON. It is written in YAML, which is
// easier to keep by hand (comments, anchors), and converted on each call;
// callers that serve it convert once (Handler).
func JSON() ([]byte, error) { return yaml.YAMLToJSON(source) }

// Handler serves the document as application/json, converted once. The
// YAML is compiled in: failing to convert it is a broken build (the
// package's test catches it first), so Handler panics then, as ui.Handler
// does for its embedded files.
func Handler() http.Handler {
	body, err := JSON()
	if err != nil {
		panic("apidoc: convert the embedded openapi.yaml: " + err.Error())
	}
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-cache")
		// Tools such as Swagger UI fetch the document from another origin;
		// it holds nothing secret.
		h.Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(body)
	})
}
