package server

import (
	"context"
	"errors"
	"net/http"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// cancel answers POST /bk_plugin/cancel/{version}: it runs the version's
// OnCancel hook (plugin.Plugin.Cancel) for the invocation in the body.
func (s *Server) cancel(w http.ResponseWriter, r *http.Request) {
	version := r.PathValue("version")
	var req protocol.CancelRequest
	if status, err := decodeJSON(r.Body, &req); err != nil {
		writeJSON(w, status, protocol.CancelResponse{Message: "cancel request: " + err.Error()})
		return
	}
	if req.PluginVersion == "" {
		req.PluginVersion = version
	}
	if req.PluginVersion != version {
		writeJSON(w, http.StatusBadRequest, protocol.CancelResponse{Message: "cancel request: plugin_version does not match the path's version"})
		return
	}
	ctx := r.Context()
	if s.opts.ExecuteTimeout > 0 {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, s.opts.ExecuteTimeout)
		defer stop()
	}
	err := s.p.Cancel(ctx, &req, plugin.ExecuteOptions{Now: s.opts.Now, Logger: s.opts.Logger})
	switch {
	case errors.Is(err, plugin.ErrUnknownVersion):
		writeJSON(w, http.StatusNotFound, protocol.CancelResponse{Message: err.Error()})
	case err != nil:
		writeJSON(w, http.StatusInternalServerError, protocol.CancelResponse{Message: "OnCancel: " + err.Error()})
	default:
		writeJSON(w, http.StatusOK, protocol.CancelResponse{Result: true})
	}
}
