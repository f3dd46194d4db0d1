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
// Handlers read path values with r.PathValue and the calling user with
// Username. Like http.ServeMux.Handle, HandleAPI panics on an invalid or
// conflicting pattern: routes are fixed when the plugin is built.
func (p *Plugin) HandleAPI(pattern string, h http.Handler) {
	method, path, ok := strings.Cut(pattern, " ")
	if !ok {
		method, path = "", pattern
	}
	full := protocol.PluginAPIPathPrefix + strings.TrimPrefix(strings.TrimSpace(path), "/")
	if method != "" {
		full = method + " " + full
	}
	p.apis.Handle(full, h)
}

// HandleAPIFunc registers a handler function; see HandleAPI.
func (p *Plugin) HandleAPIFunc(pattern string, h func(http.ResponseWriter, *http.Request)) {
	p.HandleAPI(pattern, http.HandlerFunc(h))
}

// APIHandler serves the registered plugin APIs; paths without one get a
// JSON 404 in the standard envelope.
func (p *Plugin) APIHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := p.apis.Handler(r); pattern == "" {
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

// WriteJSON answers v as JSON with status; plugin APIs answer their data
// this way, as the Python framework's PluginAPIView answers Response(data).
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v) // the client is gone if this fails
}
