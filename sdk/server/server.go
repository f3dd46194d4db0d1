package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// Options configure a Server. The zero value is ready to use.
type Options struct {
	// Logger receives the server's and the plugin's log records; JSON on
	// stderr when nil.
	Logger *slog.Logger
	// Registry is where the server's metrics are registered and what
	// /metrics serves; a fresh registry with Go and process metrics when nil.
	Registry *prometheus.Registry
	// MaxRequestBytes bounds request bodies; larger ones get 413. 8 MiB when
	// zero, which fits any inputs and storage a CR can hold.
	MaxRequestBytes int64
	// ExecuteTimeout cancels the context of an execute that runs longer;
	// zero leaves the bound to the caller.
	ExecuteTimeout time.Duration
	// ShutdownDelay is how long Run keeps serving, unready, after it is
	// asked to stop, so that the Service stops routing to the pod first.
	ShutdownDelay time.Duration
	// ShutdownTimeout bounds the wait for in-flight requests on shutdown;
	// 30s when zero.
	ShutdownTimeout time.Duration
	// LogTraces and LogLinesPerTrace bound the logs kept for
	// /bk_plugin/logs; 1000 and 5000 when zero.
	LogTraces, LogLinesPerTrace int
	// RuntimeVersion is answered in meta as runtime_version; the Go
	// version when "".
	RuntimeVersion string
	// Now is the clock plugins see; time.Now when nil.
	Now func() time.Time
	// ExecuteTokenFile holds the token the manager sends with each
	// execute (protocol.ExecuteTokenEnv); executes without it get 401. The
	// file is reread when it changes. ExecuteToken is the same, given as a
	// value. With neither, every execute and cancel is refused (401)
	// unless InsecureNoExecuteToken is set.
	ExecuteTokenFile string
	ExecuteToken     string
	// InsecureNoExecuteToken serves executes from anyone when no execute
	// token is configured: for tests and laptops only (`serve
	// --insecure-no-execute-token`, env protocol.InsecureNoExecuteTokenEnv).
	// In a cluster anyone who reaches the pod could then run the plugin,
	// skipping the shim's authentication, allow_scope and task.json checks.
	// A configured token wins over it.
	InsecureNoExecuteToken bool
	// Tracing traces each request as a child of the trace context it
	// carries (the manager's execute span, itself under the caller's invoke)
	// and each plugin Execute; Main sets it up from the OTEL_* environment
	// (tracing.Setup). The zero value records nothing.
	Tracing tracing.Tracing
}

// Server serves one plugin as a plugin pod. It is an http.Handler.
type Server struct {
	p        *plugin.Plugin
	opts     Options
	handler  http.Handler
	metrics  *metrics
	logs     *logStore
	ready    atomic.Bool
	registry *prometheus.Registry
	execAuth *executeAuth
}

// New returns a server for p. It fails only when the metrics cannot be
// registered in opts.Registry (registered twice, say).
func New(p *plugin.Plugin, opts Options) (*Server, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if opts.Registry == nil {
		opts.Registry = defaultRegistry()
	}
	if opts.MaxRequestBytes <= 0 {
		opts.MaxRequestBytes = 8 << 20
	}
	if opts.ShutdownTimeout <= 0 {
		opts.ShutdownTimeout = 30 * time.Second
	}
	if opts.LogTraces <= 0 {
		opts.LogTraces = 1000
	}
	if opts.LogLinesPerTrace <= 0 {
		opts.LogLinesPerTrace = 5000
	}
	if opts.RuntimeVersion == "" {
		opts.RuntimeVersion = runtime.Version()
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	execAuth, err := newExecuteAuth(opts)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(opts.Registry, p.Meta().Code)
	if err != nil {
		return nil, fmt.Errorf("register metrics of plugin %s: %w", p.Meta().Code, err)
	}
	s := &Server{
		p:        p,
		opts:     opts,
		metrics:  m,
		logs:     newLogStore(opts.LogTraces, opts.LogLinesPerTrace),
		registry: opts.Registry,
		execAuth: execAuth,
	}
	s.ready.Store(true)
	s.handler = opts.Tracing.Handler(s.routes(), p.Meta().Code, isProbe)
	return s, nil
}

// Handler returns an http.Handler serving p with default options, for tests
// that serve a plugin on an httptest.Server to a manager that sends no
// execute token: it is the one place executes are open by default
// (Options.InsecureNoExecuteToken). Never serve a pod with it.
func Handler(p *plugin.Plugin) http.Handler {
	s, err := New(p, Options{Logger: slog.New(slog.DiscardHandler), InsecureNoExecuteToken: true})
	if err != nil {
		// A fresh registry cannot hold the metrics already.
		panic(err)
	}
	return s
}

// ServeHTTP serves the plugin pod's routes.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxRequestBytes)
	s.handler.ServeHTTP(w, r)
}

// Run serves on addr until ctx is done, then shuts down gracefully: it turns
// unready, waits ShutdownDelay, and lets in-flight executes finish within
// ShutdownTimeout.
func (s *Server) Run(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	return s.Serve(ctx, ln)
}

// Serve is Run on a listener the caller opened.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.opts.Logger.Handler(), slog.LevelWarn),
	}
	s.ready.Store(true)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.opts.Logger.Info("serving plugin", "plugin", s.p.Meta().Code, "addr", ln.Addr().String())

	select {
	case err := <-errc:
		return fmt.Errorf("serve plugin %s: %w", s.p.Meta().Code, err)
	case <-ctx.Done():
	}
	s.ready.Store(false)
	s.opts.Logger.Info("shutting down", "delay", s.opts.ShutdownDelay.String())
	time.Sleep(s.opts.ShutdownDelay)
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down plugin %s: %w", s.p.Meta().Code, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve plugin %s: %w", s.p.Meta().Code, err)
	}
	return nil
}

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /bk_plugin/execute/{version}", s.requireExecuteToken(s.execute))
	mux.HandleFunc("POST "+protocol.CancelPathPrefix+"{version}", s.requireExecuteToken(s.cancel))
	mux.HandleFunc("GET /bk_plugin/meta/{$}", s.meta)
	mux.HandleFunc("GET /bk_plugin/meta", s.meta)
	mux.HandleFunc("GET /bk_plugin/detail/{version}", s.detail)
	mux.HandleFunc("GET /bk_plugin/detail/{version}/{$}", s.detail)
	mux.HandleFunc("GET /bk_plugin/logs/{trace_id}", s.traceLogs)
	mux.HandleFunc("GET /bk_plugin/logs/{trace_id}/{$}", s.traceLogs)
	apis := s.recoverAPI(s.p.APIHandler())
	mux.Handle(protocol.PluginAPIPathPrefix, apis)
	mux.Handle(protocol.OpenAPIPathPrefix, apis)
	mux.Handle(protocol.PrivateAPIPathPrefix, apis)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	mux.HandleFunc("GET /readyz", s.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeFail(w, http.StatusNotFound, fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path))
	})
	return mux
}

// isProbe tells the requests that get no span: probes and scrapes.
func isProbe(r *http.Request) bool {
	switch r.URL.Path {
	case "/healthz", "/readyz", "/metrics":
		return true
	}
	return false
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	if !s.ready.Load() {
		writeText(w, http.StatusServiceUnavailable, "shutting down")
		return
	}
	writeText(w, http.StatusOK, "ok")
}

// recoverAPI turns a panicking plugin API into a 500, for the same reason
// execute turns a panic into FAIL: one bad request must not hurt the others.
func (s *Server) recoverAPI(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.opts.Logger.Error("plugin API panicked", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeFail(w, http.StatusInternalServerError, fmt.Sprintf("plugin API %s failed: %v", r.URL.Path, v))
			}
		}()
		h.ServeHTTP(w, r)
	})
}
