package plugin_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

func TestPluginAPIsAnswerBothSlashForms(t *testing.T) {
	p := plugin.MustNew(plugin.Meta{Code: "apis"})
	hit := func(name string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			plugin.WriteJSON(w, http.StatusOK, map[string]string{"api": name, "q": r.URL.Query().Get("q"), "id": r.PathValue("id")})
		}
	}
	p.HandleAPIFunc("GET plain", hit("plain"))
	p.HandleAPIFunc("POST django/", hit("django"))
	p.HandleAPIFunc("GET item/{id}", hit("item"))
	p.HandleAPIFunc("GET files/{rest...}", hit("files"))
	p.HandleOpenAPI("GET ping", hit("open"))
	p.HandlePrivateAPI("GET ping/", hit("private"))
	h := p.APIHandler()

	tests := []struct {
		method, target string
		status         int
		noRoute        bool
	}{
		{"GET", "/bk_plugin/plugin_api/plain", 200, false},
		{"GET", "/bk_plugin/plugin_api/plain/", 200, false},
		{"GET", "/bk_plugin/plugin_api/plain/?q=2", 200, false},
		{"GET", "/bk_plugin/plugin_api/plain?q=2", 200, false},
		{"POST", "/bk_plugin/plugin_api/django", 200, false},
		{"POST", "/bk_plugin/plugin_api/django/", 200, false},
		{"GET", "/bk_plugin/plugin_api/item/7/", 200, false},
		{"GET", "/bk_plugin/plugin_api/files/a/b", 200, false},
		{"GET", "/bk_plugin/openapi/ping/", 200, false},
		{"GET", "/bk_plugin/private/ping", 200, false},
		{"GET", "/bk_plugin/plugin_api/plain/extra", 404, true},
		{"GET", "/bk_plugin/plugin_api/nope/", 404, true},
		{"GET", "/bk_plugin/openapi/plain", 404, true},
	}
	for _, tt := range tests {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.target, nil))
		if rec.Code != tt.status {
			t.Errorf("%s %s = %d %s, want %d", tt.method, tt.target, rec.Code, rec.Body, tt.status)
		}
		if got := rec.Header().Get(protocol.HeaderNoRoute) == "true"; got != tt.noRoute {
			t.Errorf("%s %s: no-route header %v, want %v", tt.method, tt.target, got, tt.noRoute)
		}
	}
}
