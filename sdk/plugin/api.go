package plugin

import (
	"encoding/json"
	"net/http"
	"strings"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// HandleAPI registers a plugin API, such as the data source of a form's
// select box, under /bk_plugin/plugin_api/. The pattern is a net/http
// ServeMux pattern relative to that prefix, optionally with a method:
//
//	p.HandleAPI("GET task_list/{biz_id}", h) // serves GET /bk_plugin/plugin_api/task_list/123
//
// The path is served with and without a trailing slash, whichever way it
// is written: platforms build these URLs Django-style (bk-sops sends
// ".../task_list/?biz_cc_id=2"), and a redirect would lose a POST's body.
// A pattern ending in "{name...}" is registered as written.
//
// Handlers read path values with r.PathValue and the calling user with
// Username. Like http.ServeMux.Handle, HandleAPI panics on an invalid or
// conflicting pattern: routes are fixed when the plugin is built.
func (p *Plugin) HandleAPI(pattern string, h http.Handler) {
	p.handle(protocol.PluginAPIPathPrefix, pattern, h)
}

// HandleAPIFunc registers a handler function; see HandleAPI.
func (p *Plugin) HandleAPIFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	p.HandleAPI(pattern, http.HandlerFunc(h))
}

// HandleOpenAPI registers an open API under /bk_plugin/openapi/ (the
// Python framework 2.3's openapi family, for other apps: the shim passes
// them on only for a verified app). The pattern is as for HandleAPI.
func (p *Plugin) HandleOpenAPI(pattern string, h http.Handler) {
	p.handle(protocol.OpenAPIPathPrefix, pattern, h)
}

// HandlePrivateAPI registers a private API under /bk_plugin/private/ (the
// Python framework 2.3's private family: the shim passes them on only for a
// verified app and user). The pattern is as for HandleAPI.
func (p *Plugin) HandlePrivateAPI(pattern string, h http.Handler) {
	p.handle(protocol.PrivateAPIPathPrefix, pattern, h)
}

// handle registers pattern under prefix in both slash forms.
func (p *Plugin) handle(prefix, pattern string, h http.Handler) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	if method != "" {
		method += " "
	}
	path = strings.TrimPrefix(strings.TrimSpace(path), "/")
	if strings.HasSuffix(path, "...}") {
		p.apis.Handle(method+prefix+path, h)
		return
	}
	base := strings.TrimSuffix(path, "/")
	if base == "" {
		// The family's root: exactly "/bk_plugin/plugin_api/".
		p.apis.Handle(method+prefix+"{$}", h)
		return
	}
	p.apis.Handle(method+prefix+base, h)
	p.apis.Handle(method+prefix+base+"/{$}", h)
}

// APIHandler serves the registered plugin, open and private APIs; paths
// without one get a JSON 404 in the standard envelope, marked with
// protocol.HeaderNoRoute.
func (p *Plugin) APIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := p.apis.Handler(r); pattern == "" {
			w.Header().Set(protocol.HeaderNoRoute, "true")
			WriteJSON(w, http.StatusNotFound, map[string]any{
				"result":   false,
				"data":     nil,
				"message":  "plugin " + p.meta.Code + " has no plugin API for " + r.Method + " " + r.URL.Path,
				"trace_id": "",
			})
			return
		}
		p.apis.ServeHTTP(w, r)
	})
}

// Username returns the user a plugin API is called for, as the shim passes it.
func Username(r *http.Request) string { return r.Header.Get(protocol.HeaderUsername) }

// AppCode returns the app a plugin API is called by, as the shim passes it
// (the caller's verified app; "" when there is none).
func AppCode(r *http.Request) string { return r.Header.Get(protocol.HeaderAppCode) }

// WriteJSON answers v as JSON with status; plugin APIs answer their data
// this way, as the Python framework's PluginAPIView answers Response(data).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client is gone if this fails
}
