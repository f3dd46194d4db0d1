package shim

import (
	"context"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bkplugin/bk-plugin-operator/internal/shim/apidoc"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// loadOpenAPI loads and validates the shim's OpenAPI document.
func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	body, err := apidoc.JSON()
	if err != nil {
		t.Fatalf("convert openapi.yaml: %v", err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(body)
	if err != nil {
		t.Fatalf("load the OpenAPI document: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the OpenAPI document is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// fullRouter is the router with every optional route on: /metrics on the
// main port and the debug API.
func fullRouter() *mux.Router {
	s := &Server{opts: Options{DebugAPI: true, Registry: prometheus.NewRegistry()}}
	return s.router()
}

// muxVar matches a gorilla/mux variable with its pattern, {name:regexp}.
var muxVar = regexp.MustCompile(`\{([^{}:]+):[^{}]*\}`)

// docPath turns a mux path template into an OpenAPI path: variables lose
// their patterns.
func docPath(template string) string { return muxVar.ReplaceAllString(template, "{$1}") }

// routedOp is one route of the router and one of its methods; method ""
// means the route answers any method.
type routedOp struct{ path, method string }

// routerOps walks the router: every route's OpenAPI path and methods. A
// prefix route (the panel's assets) is named by its prefix and marked.
func routerOps(t *testing.T, r *mux.Router) (ops []routedOp, prefixes map[string]bool) {
	t.Helper()
	prefixes = map[string]bool{}
	err := r.Walk(func(route *mux.Route, _ *mux.Router, _ []*mux.Route) error {
		tpl, err := route.GetPathTemplate()
		if err != nil {
			return err
		}
		re, err := route.GetPathRegexp()
		if err != nil {
			return err
		}
		p := docPath(tpl)
		if !strings.HasSuffix(re, "$") {
			prefixes[p] = true
		}
		methods, err := route.GetMethods()
		if err != nil { // no method matcher: any method
			ops = append(ops, routedOp{p, ""})
			return nil
		}
		for _, m := range methods {
			ops = append(ops, routedOp{p, m})
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk the router: %v", err)
	}
	return ops, prefixes
}

// documentedPath finds the document's path for a routed path: the same
// path, the other trailing-slash form (the router forgives a missing or
// extra slash; the document lists the canonical form only), or for a
// prefix route, the prefix followed by one variable.
func documentedPath(doc *openapi3.T, p string, prefix bool) (*openapi3.PathItem, string) {
	if item := doc.Paths.Value(p); item != nil {
		if !prefix {
			return item, p
		}
	}
	if prefix {
		for name, item := range doc.Paths.Map() {
			rest, ok := strings.CutPrefix(name, p)
			if ok && strings.HasPrefix(rest, "{") && strings.HasSuffix(rest, "}") && !strings.Contains(rest[1:], "{") {
				return item, name
			}
		}
		return nil, ""
	}
	alt, _ := trailingSlashVariant(p)
	if item := doc.Paths.Value(alt); item != nil {
		return item, alt
	}
	return nil, ""
}

// TestOpenAPIDocumentsEveryRoute fails when a route or method of the router
// is missing from the OpenAPI document (internal/shim/apidoc/openapi.yaml):
// whoever adds a route adds its path and operation there.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	doc := loadOpenAPI(t)
	ops, prefixes := routerOps(t, fullRouter())
	if len(ops) < 20 {
		t.Fatalf("walked only %d route methods: the walk is broken", len(ops))
	}
	for _, op := range ops {
		item, name := documentedPath(doc, op.path, prefixes[op.path])
		if item == nil {
			t.Errorf("route %s %s is not in openapi.yaml: add its path", methodName(op.method), op.path)
			continue
		}
		if op.method == "" {
			if len(item.Operations()) == 0 {
				t.Errorf("route %s answers any method; openapi.yaml lists no operation under %s", op.path, name)
			}
			continue
		}
		if item.GetOperation(op.method) == nil {
			t.Errorf("route %s %s is not in openapi.yaml: add a %s operation under %s",
				op.method, op.path, strings.ToLower(op.method), name)
		}
	}
}

// TestOpenAPIRoutesEveryOperation fails when the document describes an
// operation the router does not serve: a request built from each
// documented path and method must reach a route whose template is that
// path, with that method.
func TestOpenAPIRoutesEveryOperation(t *testing.T) {
	doc := loadOpenAPI(t)
	r := fullRouter()
	_, prefixes := routerOps(t, r)
	n := 0
	for name, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			n++
			url := sampleURL(name)
			req := httptest.NewRequest(method, url, nil)
			var m mux.RouteMatch
			if !r.Match(req, &m) || m.MatchErr != nil {
				t.Errorf("openapi.yaml has %s %s, which the router does not serve (%s %s: %v)", method, name, method, url, m.MatchErr)
				continue
			}
			tpl, _ := m.Route.GetPathTemplate()
			p := docPath(tpl)
			if got, _ := documentedPath(doc, p, prefixes[p]); got != item {
				t.Errorf("openapi.yaml's %s %s: %s %s is served by route %s, documented elsewhere", method, name, method, url, tpl)
			}
		}
	}
	if n < 20 {
		t.Fatalf("the document lists only %d operations", n)
	}
}

// sampleURL fills a documented path's variables with values every route's
// patterns accept.
func sampleURL(path string) string {
	samples := map[string]string{"family": "plugin_api", "path": "some/api", "trace_id": strings.Repeat("ab", 16)}
	return regexp.MustCompile(`\{([^{}]+)\}`).ReplaceAllStringFunc(path, func(v string) string {
		if s, ok := samples[v[1:len(v)-1]]; ok {
			return s
		}
		return "x1"
	})
}

func methodName(m string) string {
	if m == "" {
		return "ANY"
	}
	return m
}

// TestOpenAPIServed checks the document is answered as JSON without a
// bearer token, on a shim that requires one.
func TestOpenAPIServed(t *testing.T) {
	rec := httptest.NewRecorder()
	fullRouter().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, apidoc.Path, nil))
	if rec.Code != http.StatusOK || !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		t.Fatalf("GET %s: %d %s", apidoc.Path, rec.Code, rec.Header().Get("Content-Type"))
	}
	if _, err := openapi3.NewLoader().LoadFromData(rec.Body.Bytes()); err != nil {
		t.Fatalf("the served document does not load: %v", err)
	}
	get := httptest.NewRequest(http.MethodGet, apidoc.Path, nil)
	post := httptest.NewRequest(http.MethodPost, apidoc.Path, nil)
	if !exemptFromAuth(get) || exemptFromAuth(post) {
		t.Errorf("GET %s must need no token (exempt %v), other methods must (POST exempt %v)",
			apidoc.Path, exemptFromAuth(get), exemptFromAuth(post))
	}
}

// TestOpenAPISchemasMatchWireTypes fails when a body schema of the
// document and the sdk/stdapi type it describes name different fields, or
// when the document requires a field the type may leave out (omitempty).
func TestOpenAPISchemasMatchWireTypes(t *testing.T) {
	doc := loadOpenAPI(t)
	types := map[string]any{
		"PluginList":               stdapi.PluginList{},
		"Meta":                     stdapi.Meta{},
		"Detail":                   stdapi.Detail{},
		"InvokeRequest":            stdapi.InvokeRequest{},
		"InvokeData":               stdapi.InvokeData{},
		"ScheduleData":             stdapi.ScheduleData{},
		"CallbackResult":           stdapi.CallbackResult{},
		"PluginAPIDispatchRequest": stdapi.PluginAPIDispatchRequest{},
		"LogsData":                 stdapi.LogsData{},
		"InvocationList":           stdapi.InvocationList{},
		"InvocationSummary":        stdapi.InvocationSummary{},
		"DebugInvocationData":      DebugInvocationData{},
		"RetryPolicy":              stdapi.RetryPolicy{},
	}
	for name, v := range types {
		ref := doc.Components.Schemas[name]
		if ref == nil || ref.Value == nil {
			t.Errorf("openapi.yaml has no schema %s for %T", name, v)
			continue
		}
		s := ref.Value
		fields, optional := jsonFields(reflect.TypeOf(v))
		var documented []string
		for p := range s.Properties {
			documented = append(documented, p)
		}
		sort.Strings(documented)
		if got, want := strings.Join(documented, ","), strings.Join(fields, ","); got != want {
			t.Errorf("schema %s has properties %s; %T has fields %s", name, got, v, want)
		}
		for _, r := range s.Required {
			if optional[r] {
				t.Errorf("schema %s requires %s, which %T leaves out when empty (omitempty)", name, r, v)
			}
		}
	}
}

// jsonFields lists a struct's JSON field names, sorted, and which of them
// are omitempty.
func jsonFields(typ reflect.Type) ([]string, map[string]bool) {
	var names []string
	optional := map[string]bool{}
	for f := range typ.Fields() {
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if tag == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		names = append(names, name)
		if strings.Contains(opts, "omitempty") || strings.Contains(opts, "omitzero") {
			optional[name] = true
		}
	}
	sort.Strings(names)
	return names, optional
}
