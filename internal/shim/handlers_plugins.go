package shim

import (
	"net/http"

	"github.com/gorilla/mux"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// listPlugins answers GET /plugins/.
func (s *Server) listPlugins(w http.ResponseWriter, r *http.Request) {
	list, err := s.versions.plugins(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, stdapi.OK(list, infoOf(r).traceID))
}

// meta answers GET /plugins/{code}/bk_plugin/meta/.
func (s *Server) meta(w http.ResponseWriter, r *http.Request) {
	m, err := s.versions.meta(r.Context(), mux.Vars(r)[stdapi.VarCode])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, stdapi.OK(m, infoOf(r).traceID))
}

// detail answers GET /plugins/{code}/bk_plugin/detail/{version}.
func (s *Server) detail(w http.ResponseWriter, r *http.Request) {
	vars := mux.Vars(r)
	d, err := s.versions.detail(r.Context(), vars[stdapi.VarCode], vars[stdapi.VarVersion])
	if err != nil {
		s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, stdapi.OK(d, infoOf(r).traceID))
}
