package shim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/internal/restmapping"
	"github.com/bkplugin/bk-plugin-operator/internal/shim/apidoc"
	"github.com/bkplugin/bk-plugin-operator/internal/shim/ui"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// Paths of the shim's own endpoints, outside the standard API.
const (
	HealthzPath = "/healthz"
	ReadyzPath  = "/readyz"
	MetricsPath = "/metrics"
)

// Server is the standard plugin API shim. Create it with New, serve
// Handler() or call Run.
type Server struct {
	opts        Options
	cache       cache.Cache
	informers   []cache.Informer
	metrics     *metrics
	invocations *invocations
	versions    *versionService
	logs        *logs
	dispatcher  *dispatcher
	apiProxy    *pluginAPIProxy
	past        *readThrough
	handler     http.Handler
	auth        authState
	// stopping is set once Run has been asked to stop: /readyz then fails
	// so that load balancers move away while in-flight requests finish.
	stopping atomic.Bool
}

// New builds a Server: an informer cache of PluginInvocations and
// PluginVersions in opts.Namespace, a client for writes and live reads, and
// the router. Nothing runs until Run (or, for the cache, Start).
func New(opts Options) (*Server, error) {
	if opts.Config == nil {
		return nil, errors.New("shim: Options.Config is required")
	}
	opts.applyDefaults()
	if _, err := ParseSyncInvoke(opts.SyncInvoke); err != nil {
		return nil, fmt.Errorf("shim: %w", err)
	}
	auth, err := newAuthState(opts)
	if err != nil {
		return nil, err
	}
	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("shim: build scheme: %w", err)
	}
	if err := bkv1.AddToScheme(scheme); err != nil {
		return nil, fmt.Errorf("shim: build scheme: %w", err)
	}
	// One memoized mapper for the cache and the client: every cached read
	// of the namespace's objects asks it for the kind's scope (restmapping).
	httpClient, err := rest.HTTPClientFor(opts.Config)
	if err != nil {
		return nil, fmt.Errorf("shim: create HTTP client: %w", err)
	}
	mapper, err := restmapping.NewDynamic(opts.Config, httpClient)
	if err != nil {
		return nil, fmt.Errorf("shim: create REST mapper: %w", err)
	}
	c, err := cache.New(opts.Config, cache.Options{
		HTTPClient:        httpClient,
		Mapper:            mapper,
		Scheme:            scheme,
		DefaultNamespaces: map[string]cache.Config{opts.Namespace: {}},
		// Reading anything the shim does not cache on purpose (events) from
		// the cache would start an informer per kind behind its back.
		ReaderFailOnMissingInformer: true,
		DefaultTransform:            slimForCache,
	})
	if err != nil {
		return nil, fmt.Errorf("shim: create informer cache: %w", err)
	}
	kube, err := client.New(opts.Config, client.Options{Scheme: scheme, HTTPClient: httpClient, Mapper: mapper})
	if err != nil {
		return nil, fmt.Errorf("shim: create Kubernetes client: %w", err)
	}
	m, err := newMetrics(opts.Registry)
	if err != nil {
		return nil, fmt.Errorf("shim: %w", err)
	}

	ctx := context.Background()
	if err := versions.SetupIndexes(ctx, c); err != nil {
		return nil, fmt.Errorf("shim: %w", err)
	}
	s := &Server{opts: opts, cache: c, metrics: m, auth: auth}
	w := newWaiters()
	for _, obj := range []client.Object{&bkv1.PluginInvocation{}, &bkv1.PluginVersion{}} {
		inf, err := c.GetInformer(ctx, obj, cache.BlockUntilSynced(false))
		if err != nil {
			return nil, fmt.Errorf("shim: informer for %T: %w", obj, err)
		}
		s.informers = append(s.informers, inf)
	}
	if _, err := s.informers[0].AddEventHandler(w.handler()); err != nil {
		return nil, fmt.Errorf("shim: watch invocations: %w", err)
	}

	keys := opts.CallbackKeys
	if keys == nil {
		keys = append(callbackkey.StaticKeys{opts.CallbackKey}, opts.PreviousCallbackKeys...)
	}
	p := pods{clusterDomain: opts.ClusterDomain, resolveService: opts.ResolveService}
	s.versions = &versionService{reader: c, namespace: opts.Namespace, runtimeVersion: opts.Version}
	if s.past, err = newReadThrough(opts); err != nil {
		return nil, fmt.Errorf("shim: %w", err)
	}
	s.invocations = &invocations{
		kube: kube, cache: c, namespace: opts.Namespace, versions: s.versions, compiled: versions.NewCache(), waiters: w,
		past: s.past, metrics: m, timeout: opts.InvokeTimeout, keys: keys, maxTokenTTL: opts.CallbackTokenMaxTTL, now: opts.Now, logger: opts.Logger.WithName("invoke"),
		direct: &directExec{
			mode:     opts.SyncInvoke,
			caller:   &pluginexec.Caller{HTTP: opts.ExecuteHTTPClient, MaxAnswerBytes: pluginexec.MaxAnswerBytesFor(opts.ExecuteLimits.MaxStatusBytes), Token: opts.ExecuteToken},
			callback: pluginexec.CallbackOptions{BaseURL: opts.CallbackBaseURL, Key: signingKey(opts, keys), TokenTTL: opts.CallbackTokenTTL},
			limits:   opts.ExecuteLimits, clusterDomain: opts.ClusterDomain, resolveService: opts.ResolveService,
			locks: newKeyedLocks(), afterExecute: opts.AfterDirectExecute,
		},
	}
	s.logs = &logs{reader: kube, past: s.past, namespace: opts.Namespace, versions: s.versions, pods: p, http: opts.HTTPClient}
	s.dispatcher = &dispatcher{versions: s.versions, pods: p, http: opts.HTTPClient}
	s.apiProxy = &pluginAPIProxy{versions: s.versions, pods: p, http: opts.HTTPClient}
	s.handler = s.routes()
	return s, nil
}

// Handler returns the shim's HTTP handler: the standard API, /healthz,
// /readyz and (unless Options.MetricsAddr is set) /metrics. Answers that
// need the cache wait for it to sync; start it with Start or Run.
func (s *Server) Handler() http.Handler { return s.handler }

// Start runs the informer cache until ctx ends. Run calls it; call it
// yourself only when serving Handler() some other way.
func (s *Server) Start(ctx context.Context) error {
	if err := s.cache.Start(ctx); err != nil {
		return fmt.Errorf("shim: informer cache: %w", err)
	}
	return nil
}

// Ready reports whether the cache has synced and the server is not stopping.
func (s *Server) Ready() bool {
	if s.stopping.Load() {
		return false
	}
	for _, inf := range s.informers {
		if !inf.HasSynced() {
			return false
		}
	}
	return true
}

// Run starts the cache, serves on Options.Listener (or Options.Addr) until
// ctx ends, then stops accepting, lets in-flight requests finish within
// Options.ShutdownTimeout, and stops the cache.
func (s *Server) Run(ctx context.Context) error {
	log := s.opts.Logger
	ln := s.opts.Listener
	if ln == nil {
		var err error
		if ln, err = net.Listen("tcp", s.opts.Addr); err != nil {
			return fmt.Errorf("shim: listen on %s: %w", s.opts.Addr, err)
		}
	}
	servers := []*http.Server{s.httpServer(s.handler)}
	listeners := []net.Listener{ln}
	if s.opts.MetricsAddr != "" {
		mln, err := net.Listen("tcp", s.opts.MetricsAddr)
		if err != nil {
			ln.Close()
			return fmt.Errorf("shim: listen for metrics on %s: %w", s.opts.MetricsAddr, err)
		}
		mux := http.NewServeMux()
		mux.Handle(MetricsPath, promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{}))
		servers = append(servers, s.httpServer(mux))
		listeners = append(listeners, mln)
	}

	// The cache outlives the HTTP servers so that invokes in flight during
	// shutdown still see their first execute.
	cacheCtx, stopCache := context.WithCancel(context.WithoutCancel(ctx))
	defer stopCache()
	cacheErr := make(chan error, 1)
	go func() { cacheErr <- s.Start(cacheCtx) }()

	serveErr := make(chan error, len(servers))
	for i := range servers {
		go func() {
			if err := servers[i].Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				serveErr <- err
				return
			}
			serveErr <- nil
		}()
	}
	log.Info("serving the standard plugin API", "addr", ln.Addr().String(), "namespace", s.opts.Namespace)

	var runErr error
	select {
	case <-ctx.Done():
	case err := <-serveErr:
		runErr = fmt.Errorf("shim: serve: %w", err)
	case err := <-cacheErr:
		runErr = err
		if runErr == nil {
			runErr = errors.New("shim: informer cache stopped")
		}
	}
	s.stopping.Store(true)
	log.Info("shutting down: no new connections; waiting for requests in flight", "timeout", s.opts.ShutdownTimeout)
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.opts.ShutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if err := srv.Shutdown(shutdownCtx); err != nil {
			log.Error(err, "requests still in flight at the shutdown timeout were cut")
			srv.Close()
		}
	}
	stopCache()
	if err := s.past.close(); err != nil {
		log.Error(err, "closing the archive")
	}
	return runErr
}

// slimForCache drops what the shim never answers from cached objects:
// managed fields, an invocation's storage, which may be most of its size,
// and its log lines (read live by the rare logs request). The cache holds
// every invocation in the cluster (live work, and the finished ones until
// the manager archives and deletes them), so this is most of the shim's
// memory.
func slimForCache(obj any) (any, error) {
	if o, ok := obj.(metav1.Object); ok {
		o.SetManagedFields(nil)
	}
	if inv, ok := obj.(*bkv1.PluginInvocation); ok {
		inv.Status.Storage = nil
		inv.Status.Logs = nil
	}
	return obj, nil
}

func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
}

// routes builds the handler: the router and the middleware every request
// passes.
func (s *Server) routes() http.Handler {
	var h http.Handler = s.router()
	h = s.authenticate(h)
	h = s.limitBody(h)
	h = s.recoverPanics(h)
	h = s.observe(h)
	// Outermost, so that the access log, the handlers and the invocation
	// they create all see the request's span.
	h = s.opts.Tracing.Handler(h, "shim", isProbe)
	return h
}

// router routes the standard API under /plugins, the probes and metrics,
// the OpenAPI document and the debug panel. Every route it adds must be in
// apidoc's openapi.yaml: openapi_test.go walks it and fails otherwise.
func (s *Server) router() *mux.Router {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.fail(w, req, errorf(http.StatusNotFound, "no route %s %s; plugin routes live under /plugins/{code}/bk_plugin/", req.Method, req.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		s.fail(w, req, errorf(http.StatusMethodNotAllowed, "method %s is not allowed on %s", req.Method, req.URL.Path))
	})
	r.Use(s.nameRoute)

	r.HandleFunc(HealthzPath, func(w http.ResponseWriter, _ *http.Request) { writeText(w, http.StatusOK, "ok") })
	r.HandleFunc(ReadyzPath, s.readyz)
	r.Handle(apidoc.Path, apidoc.Handler()).Methods(http.MethodGet)
	if s.opts.MetricsAddr == "" {
		r.Handle(MetricsPath, promhttp.HandlerFor(s.opts.Registry, promhttp.HandlerOpts{}))
	}

	get, post := http.MethodGet, http.MethodPost
	handle := func(route string, method string, h http.HandlerFunc) {
		r.HandleFunc(route, h).Methods(method)
		// Platforms build these URLs by string formatting; a missing or
		// extra trailing slash is forgiven rather than redirected, since a
		// redirected POST loses its body.
		if alt, ok := trailingSlashVariant(route); ok {
			r.HandleFunc(alt, h).Methods(method)
		}
	}
	handle(stdapi.PluginsRoute, get, s.listPlugins)
	handle(stdapi.MetaRoute, get, s.meta)
	handle(stdapi.DetailRoute, get, s.detail)
	handle(stdapi.InvokeRoute, post, s.invoke)
	handle(stdapi.ScheduleRoute, get, s.schedule)
	handle(stdapi.CallbackRoute, post, s.callback)
	handle(stdapi.PluginAPIDispatchRoute, post, s.pluginAPIDispatch)
	handle(stdapi.LogsRoute, get, s.logsHandler)
	handle(stdapi.CancelRoute, post, s.cancelHandler)
	// A plugin's own APIs, any method, served as the pod answers them.
	r.HandleFunc(stdapi.PluginAPIsRoute, s.pluginAPI)
	handle(stdapi.InvocationsRoute, get, s.listInvocations)
	// The debug panel, a page for plugin authors that calls the routes above.
	panel := ui.Handler()
	r.Handle(ui.IndexPath, panel).Methods(get, http.MethodHead)
	r.PathPrefix(ui.AssetsPrefix).Handler(panel).Methods(get, http.MethodHead)
	if s.opts.DebugAPI {
		r.HandleFunc(DebugInvocationRoute, s.debugInvocation).Methods(get)
	}
	return r
}

// isProbe tells the requests that get no span: probes and scrapes, which
// come every few seconds and belong to no trace.
func isProbe(r *http.Request) bool {
	switch r.URL.Path {
	case HealthzPath, ReadyzPath, MetricsPath:
		return true
	}
	return false
}

func trailingSlashVariant(route string) (string, bool) {
	if len(route) > 1 && route[len(route)-1] == '/' {
		return route[:len(route)-1], true
	}
	return route + "/", true
}

func (s *Server) readyz(w http.ResponseWriter, _ *http.Request) {
	switch {
	case s.stopping.Load():
		writeText(w, http.StatusServiceUnavailable, "shutting down")
	case !s.Ready():
		writeText(w, http.StatusServiceUnavailable, "informer cache not synced")
	default:
		writeText(w, http.StatusOK, "ok")
	}
}

// signingKey is the key the shim's own first executes sign callback keys
// with: the manager's key as keys follows it (a callbackkey.Ring, also a
// Provider, so a rotated key signs at once), else the fixed CallbackKey.
func signingKey(opts Options, keys callbackkey.Verifier) callbackkey.Provider {
	if p, ok := keys.(callbackkey.Provider); ok {
		return p
	}
	if len(opts.CallbackKey) == 0 {
		return nil
	}
	return callbackkey.Static(opts.CallbackKey)
}
