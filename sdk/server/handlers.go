package server

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// Meta is the data of a plugin pod's meta answer: the standard API's meta
// plus the plugin pod protocol version, which the manager checks.
type Meta struct {
	stdapi.Meta
	// ProtocolVersion is protocol.Version.
	ProtocolVersion string `json:"protocol_version"`
}

func (s *Server) execute(w http.ResponseWriter, r *http.Request) {
	tracing.NameRoute(r, "/bk_plugin/execute/{version}")
	version := r.PathValue("version")
	if _, ok := s.p.Version(version); !ok {
		s.metrics.rejected.WithLabelValues("unknown_version").Inc()
		writeFail(w, http.StatusNotFound, fmt.Sprintf("plugin %s has no version %q", s.p.Meta().Code, version))
		return
	}
	var req protocol.ExecuteRequest
	if status, err := decodeJSON(r.Body, &req); err != nil {
		s.metrics.rejected.WithLabelValues("malformed").Inc()
		writeFail(w, status, "execute request: "+err.Error())
		return
	}
	switch req.PluginVersion {
	case "":
		req.PluginVersion = version
	case version:
	default:
		s.metrics.rejected.WithLabelValues("malformed").Inc()
		writeFail(w, http.StatusBadRequest, fmt.Sprintf("execute request: plugin_version %q does not match the path's version %q", req.PluginVersion, version))
		return
	}
	if req.PluginCode != "" && req.PluginCode != s.p.Meta().Code {
		s.metrics.rejected.WithLabelValues("malformed").Inc()
		writeFail(w, http.StatusBadRequest, fmt.Sprintf("execute request: plugin_code %q, but this pod serves plugin %q", req.PluginCode, s.p.Meta().Code))
		return
	}

	ctx := r.Context()
	if s.opts.ExecuteTimeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, s.opts.ExecuteTimeout)
		defer cancel()
	}
	s.metrics.inFlight.Inc()
	start := time.Now()
	ctx, span := s.startExecuteSpan(ctx, &req)
	resp, err := s.p.Execute(ctx, &req, plugin.ExecuteOptions{Now: s.opts.Now, Logger: s.opts.Logger})
	endExecuteSpan(span, resp, err)
	s.metrics.inFlight.Dec()
	if err != nil {
		status := http.StatusBadRequest
		if errors.Is(err, plugin.ErrUnknownVersion) {
			status = http.StatusNotFound
		}
		s.metrics.rejected.WithLabelValues("invalid").Inc()
		writeFail(w, status, "execute request: "+err.Error())
		return
	}
	s.metrics.duration.WithLabelValues(version).Observe(time.Since(start).Seconds())
	s.metrics.executes.WithLabelValues(version, resp.State.String()).Inc()
	s.logs.append(req.TraceID, resp.Logs)
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) meta(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, ok(Meta{Meta: s.p.MetaAnswer(s.opts.RuntimeVersion), ProtocolVersion: protocol.Version}))
}

func (s *Server) detail(w http.ResponseWriter, r *http.Request) {
	v, found := s.p.Version(r.PathValue("version"))
	if !found {
		writeFail(w, http.StatusNotFound, fmt.Sprintf("plugin %s has no version %q", s.p.Meta().Code, r.PathValue("version")))
		return
	}
	writeJSON(w, http.StatusOK, ok(v.Detail()))
}

func (s *Server) traceLogs(w http.ResponseWriter, r *http.Request) {
	// A trace this replica never executed answers an empty log: another
	// replica may have run it.
	lines := s.logs.get(r.PathValue("trace_id"))
	log := strings.Join(lines, "\n")
	if log != "" {
		log += "\n"
	}
	writeJSON(w, http.StatusOK, ok(stdapi.LogsData{Log: log}))
}

// ok wraps data in the standard envelope. The message is "" rather than
// stdapi.OK's "success": the Python framework's meta and detail answer "".
func ok[T any](data T) stdapi.Envelope[T] {
	return stdapi.Envelope[T]{Result: true, Data: data}
}

// decodeJSON decodes one JSON value from body and says which 4xx status an
// error deserves.
func decodeJSON(body io.Reader, v any) (int, error) {
	dec := json.NewDecoder(body)
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return http.StatusRequestEntityTooLarge, fmt.Errorf("body is larger than %d bytes", tooBig.Limit)
		}
		if errors.Is(err, io.EOF) {
			return http.StatusBadRequest, errors.New("body is empty; want a JSON object")
		}
		return http.StatusBadRequest, fmt.Errorf("body is not valid: %w", err)
	}
	if dec.More() {
		return http.StatusBadRequest, errors.New("body holds more than one JSON value")
	}
	return 0, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, `{"result":false,"data":null,"message":"encode answer failed","trace_id":""}`, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b) // the client is gone if this fails
}

func writeFail(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, stdapi.Fail(msg, ""))
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}
