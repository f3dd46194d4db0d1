package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// requestInfo travels with a request so that the access log and the metrics
// know what the handlers learnt: the route and the trace id.
type requestInfo struct {
	route   string
	traceID string
	// appCode is the verified caller's (authenticate), for the access log.
	appCode string
}

type requestInfoKey struct{}

// newRequestInfo is where a request's trace id is decided, once: the
// caller's X-Bkplugin-Trace-Id when valid, so that an invoke names its
// invocation after it and its access line names the invocation, else a
// fresh one. A route that names a trace id in its path replaces it
// (nameRoute); an invoke refuses a header that is set but not valid
// (invokeTraceID).
func newRequestInfo(r *http.Request) *requestInfo {
	ri := &requestInfo{route: "unmatched"}
	if id := r.Header.Get(stdapi.HeaderTraceID); stdapi.ValidTraceID(id) {
		ri.traceID = id
	} else if id, err := stdapi.NewTraceID(); err == nil {
		ri.traceID = id
	}
	return ri
}

// infoOf returns what observe attached to r, or, for a request that did
// not pass through it, a fresh requestInfo.
func infoOf(r *http.Request) *requestInfo {
	if ri, ok := r.Context().Value(requestInfoKey{}).(*requestInfo); ok {
		return ri
	}
	return newRequestInfo(r)
}

// statusRecorder remembers the status a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (w *statusRecorder) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (bodyDeadline).
func (w *statusRecorder) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusRecorder) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// observe gives every request a trace id (newRequestInfo) and records an
// access log line and metrics once it is answered.
func (s *Server) observe(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		ri := newRequestInfo(r)
		if isCallbackPath(r.URL.Path) {
			// The token is a credential: the span keeps the path as the
			// access log shows it (the SDK keeps the last value of a key).
			trace.SpanFromContext(r.Context()).SetAttributes(attribute.String("url.path", logPath(r)))
		}
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri)))
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		elapsed := time.Since(start)
		s.metrics.requests.WithLabelValues(ri.route, r.Method, strconv.Itoa(rec.status)).Inc()
		s.metrics.duration.WithLabelValues(ri.route).Observe(elapsed.Seconds())
		if ri.route == HealthzPath || ri.route == ReadyzPath || ri.route == MetricsPath {
			return // probes every few seconds would drown the log
		}
		s.opts.Logger.Info("access", "method", r.Method, "path", logPath(r), "route", ri.route,
			"status", rec.status, "duration", elapsed.String(), "trace_id", ri.traceID,
			"remote", r.RemoteAddr, "app_code", ri.appCode)
	})
}

// nameRoute records the matched route template, for metrics labels that do
// not grow with every trace id, and the trace id the path names, which is
// the one the request's envelope and access line carry.
func (s *Server) nameRoute(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if route := mux.CurrentRoute(r); route != nil {
			if tpl, err := route.GetPathTemplate(); err == nil {
				infoOf(r).route = tpl
				tracing.NameRoute(r, tpl)
			}
		}
		if id, ok := mux.Vars(r)[stdapi.VarTraceID]; ok {
			infoOf(r).traceID = id
		}
		// The BlueKing trace id, which names the invocation, finds the
		// request's span in a tracing backend.
		trace.SpanFromContext(r.Context()).SetAttributes(attribute.String(tracing.AttrTraceID, infoOf(r).traceID))
		next.ServeHTTP(w, r)
	})
}

// recoverPanics turns a panic, always a bug of the shim, into a 500 envelope
// and a logged stack instead of a dropped connection.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.opts.Logger.Error(fmt.Errorf("panic: %v", v), "handler panicked", "path", logPath(r), "stack", string(debug.Stack()))
				s.fail(w, r, fmt.Errorf("panic serving %s", logPath(r)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody bounds request bodies in size (decoders report a larger one as
// 413) and in time (bodyDeadline: 408).
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.opts.MaxBodyBytes {
			s.fail(w, r, errorf(http.StatusRequestEntityTooLarge, "request body is %d bytes; at most %d bytes are accepted", r.ContentLength, s.opts.MaxBodyBytes))
			return
		}
		s.bodyDeadline(w, r)
		r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// isCallbackPath tells whether path is /plugins/{code}/bk_plugin/callback/{token}/.
func isCallbackPath(path string) bool {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	return len(parts) == 5 && parts[0] == "plugins" && parts[2] == "bk_plugin" && parts[3] == "callback"
}

// redactedToken stands for a callback token in logs.
const redactedToken = "REDACTED"

// logPath is the request's path as logs show it: a callback token is a
// credential (whoever holds it can wake the invocation), so it never
// reaches a log, where more people read than hold tokens.
func logPath(r *http.Request) string {
	if !isCallbackPath(r.URL.Path) {
		return r.URL.Path
	}
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	parts[4] = redactedToken
	return "/" + strings.Join(parts, "/") + "/"
}

// fail answers err in the envelope with the status err deserves.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		s.opts.Logger.Error(err, "request failed", "path", logPath(r), "status", status, "trace_id", infoOf(r).traceID)
	}
	writeJSON(w, status, stdapi.Fail(msg, infoOf(r).traceID))
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		b, _ = json.Marshal(stdapi.Fail("encode answer: "+err.Error(), ""))
		status = http.StatusInternalServerError
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b) // the caller is gone if this fails
}

func writeText(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, msg+"\n")
}
