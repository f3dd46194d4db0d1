package shim

import (
	"net"
	"net/http"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/internal/identity"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// Defaults of Options.
const (
	// DefaultNamespace is where PluginVersions and PluginInvocations live
	// when Options.Namespace is "".
	DefaultNamespace = "default"
	// DefaultInvokeTimeout bounds a synchronous invoke's wait for the first
	// execute; platforms then poll schedule, as with the Python framework.
	DefaultInvokeTimeout = 10 * time.Second
	// DefaultMaxBodyBytes bounds request bodies. Inputs live in a CR, which
	// the API server caps at 1.5 MiB, so a bigger body could never succeed.
	DefaultMaxBodyBytes = 1 << 20
	// DefaultShutdownTimeout bounds how long Run waits for in-flight
	// requests (a synchronous invoke waits up to the invoke timeout).
	DefaultShutdownTimeout = 30 * time.Second
	// DefaultBodyReadTimeout bounds how long a request body may take to
	// arrive: a 1 MiB body needs far less on any working network.
	DefaultBodyReadTimeout = 30 * time.Second
	// DefaultPodTimeout bounds one call to a plugin pod (dispatch, logs).
	DefaultPodTimeout = 30 * time.Second
	// TracingServiceName is the shim's service.name in traces, unless
	// OTEL_SERVICE_NAME says otherwise.
	TracingServiceName = "bk-plugin-shim"
)

// Options configure a Server. Config is required; every other field has a
// usable zero value.
type Options struct {
	// Config reaches the Kubernetes API server.
	Config *rest.Config
	// Namespace holds the PluginVersions and PluginInvocations the shim
	// serves; DefaultNamespace when "".
	Namespace string

	// CallbackKey is the master key callback tokens are verified with (the
	// manager's --callback-key-file). Without it every callback gets 400.
	CallbackKey []byte
	// PreviousCallbackKeys are still accepted while keys rotate, so that
	// tokens handed out before the rotation keep working.
	PreviousCallbackKeys [][]byte
	// CallbackKeys, when set, gives the keys accepted now and wins over
	// CallbackKey and PreviousCallbackKeys: RunCommand sets a
	// callbackkey.Ring following --callback-key-file, so that the key
	// rotates with no restart (the replaced key is accepted for
	// --callback-key-grace).
	CallbackKeys callbackkey.Verifier
	// CallbackTokenMaxTTL bounds how far ahead of now a callback token may
	// expire: a token with a later expiry is refused, so a plugin pod
	// cannot hand out tokens that outlive it by more. Zero means
	// protocol.DefaultCallbackTokenTTL (a day).
	CallbackTokenMaxTTL time.Duration

	// Tokens are the bearer tokens callers may authenticate with, each
	// standing for an app code (identity.ParseTokens reads a token file).
	// With Tokens or GatewayKeys set, every route but callback (third
	// parties hold only the signed token), the probes, /metrics, the
	// panel's page and PublicRoutes needs a credential; with neither, the
	// shim is open (RunCommand refuses that without --insecure-no-auth).
	Tokens *identity.Tokens
	// AuthTokens are bearer tokens that stand for no app code: the form
	// before Tokens. Set one of the two.
	AuthTokens []string
	// GatewayKeys are the BlueKing API gateways' public keys, by gateway
	// name; a request's X-Bkapi-JWT is verified against them. Nil: the
	// JWT is ignored.
	GatewayKeys *identity.GatewayKeys
	// JWTLeeway is the clock skew allowed on a JWT's exp and nbf;
	// identity.DefaultLeeway when zero.
	JWTLeeway time.Duration
	// TrustIdentityHeaders takes X-Bkplugin-App-Code and
	// X-Bkplugin-Username from the caller as its identity when no
	// credential names one. For development only: any caller can then be
	// any app, and allow_scope means nothing.
	TrustIdentityHeaders bool
	// PublicRoutes are route names ("plugins", "meta", "detail",
	// "schedule", "logs") served to callers without a credential, for
	// platforms such as bk-sops that read them unauthenticated.
	PublicRoutes []string
	// BodyReadTimeout bounds how long a request body may take to arrive;
	// DefaultBodyReadTimeout when zero, no bound when negative.
	BodyReadTimeout time.Duration

	// InvokeTimeout bounds a synchronous invoke's wait for the first execute;
	// DefaultInvokeTimeout when zero.
	InvokeTimeout time.Duration
	// MaxBodyBytes bounds request bodies; DefaultMaxBodyBytes when zero.
	MaxBodyBytes int64

	// HTTPClient calls plugin pods (plugin_api_dispatch, logs); nil means a
	// client bounded by DefaultPodTimeout.
	HTTPClient *http.Client
	// ClusterDomain and ResolveService locate plugin pods behind Services,
	// as in versions.EndpointURL.
	ClusterDomain  string
	ResolveService func(namespace, name string, port int32) string

	// Registry receives the shim's metrics and is what /metrics serves; a
	// fresh registry when nil.
	Registry *prometheus.Registry
	// Logger receives access logs and errors; logr.Discard() when zero.
	Logger logr.Logger

	// Addr is where Run listens, such as "127.0.0.1:8080"; ignored when
	// Listener is set.
	Addr string
	// Listener, when set, is what Run serves on (tests pass one bound to
	// port 0 so that they know the URL before the server runs).
	Listener net.Listener
	// MetricsAddr, when set, serves /metrics on a listener of its own
	// instead of on the API's.
	MetricsAddr string
	// ShutdownTimeout bounds the wait for in-flight requests when Run's
	// context ends; DefaultShutdownTimeout when zero.
	ShutdownTimeout time.Duration

	// DebugAPI serves DebugInvocationRoute, which tells the debug panel
	// what the standard API does not: each invocation's execute count and
	// storage. Off by default: storage is the plugin's own, not an answer
	// platforms should be able to read.
	DebugAPI bool

	// ArchiveDSN names the archive of finished invocations (--archive:
	// sqlite:///path/file.db or postgres://...). The shim opens it in the
	// background, retrying while it is unreachable, and reads finished
	// invocations that have left the cluster from it. "" answers from the
	// cluster only.
	ArchiveDSN string
	// Archive, when set, is an archive already open (tests); ArchiveDSN is
	// then ignored and the caller closes it.
	Archive archive.Archive

	// SyncInvoke is how a synchronous invoke runs: SyncInvokeDirect (the
	// shim makes the first execute; the default) or SyncInvokeCluster
	// (every invoke is a PluginInvocation the manager executes).
	SyncInvoke string
	// CallbackBaseURL, CallbackTokenTTL and ExecuteToken are the manager's
	// options of the same names, for the executes the shim makes: where
	// callbacks are posted, how long their tokens live, and the token
	// plugin pods check (--execute-token-file).
	CallbackBaseURL  string
	CallbackTokenTTL time.Duration
	ExecuteToken     func() string
	// ExecuteLimits bound what the shim's executes may leave in status, as
	// the manager's options do; pluginexec.DefaultLimits when zero.
	ExecuteLimits pluginexec.Limits
	// ExecuteHTTPClient calls plugin pods' execute; a pooled client when
	// nil. It never follows redirects.
	ExecuteHTTPClient *http.Client
	// AfterDirectExecute, when set, runs on the direct path between a
	// plugin's answer and its recording; an error abandons the call there,
	// as a shim dying at that point would. For tests of the at-least-once
	// case.
	AfterDirectExecute func(traceID string) error
	// AfterDirectCreate, when set, runs on the direct path between the
	// create of a POLL or CALLBACK call's PluginInvocation and the status
	// write of its first answer; an error abandons the call there, as a
	// shim dying at that point would, leaving the invocation to the
	// manager once its hold (bkv1.AnnotationFirstExecute) passes. For
	// tests of that at-least-once case.
	AfterDirectCreate func(traceID string) error
	// Tracing traces each request (a child of the caller's W3C traceparent),
	// carries the trace to the manager on the invocations it creates
	// (bkv1.AnnotationTraceparent) and to plugin pods on the calls it makes;
	// the zero value records nothing but still passes the trace context on.
	Tracing tracing.Tracing

	// Version is answered in meta as runtime_version: the shim's build.
	Version string
	// Now is the clock token expiry is checked against; time.Now when nil.
	Now func() time.Time
}

func (o *Options) applyDefaults() {
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.InvokeTimeout <= 0 {
		o.InvokeTimeout = DefaultInvokeTimeout
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.BodyReadTimeout == 0 {
		o.BodyReadTimeout = DefaultBodyReadTimeout
	}
	if o.HTTPClient == nil {
		o.HTTPClient = &http.Client{Timeout: DefaultPodTimeout, CheckRedirect: noRedirects}
	}
	if o.HTTPClient.CheckRedirect == nil {
		c := *o.HTTPClient
		c.CheckRedirect = noRedirects
		o.HTTPClient = &c
	}
	// Calls to plugin pods carry the request's trace (traceparent).
	o.HTTPClient = o.Tracing.Client(o.HTTPClient)
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Logger.GetSink() == nil {
		o.Logger = logr.Discard()
	}
	if o.ShutdownTimeout <= 0 {
		o.ShutdownTimeout = DefaultShutdownTimeout
	}
	if o.SyncInvoke == "" {
		o.SyncInvoke = SyncInvokeDirect
	}
	if o.ExecuteLimits.MaxStatusBytes == 0 {
		o.ExecuteLimits = pluginexec.DefaultLimits()
	}
	if o.ExecuteHTTPClient == nil {
		o.ExecuteHTTPClient = pluginexec.NewPooledHTTPClient()
	}
	// The shim's first executes carry the invoke's trace to the plugin pod,
	// as the manager's do.
	o.ExecuteHTTPClient = o.Tracing.Client(pluginexec.WithoutRedirects(o.ExecuteHTTPClient))
	if o.Version == "" {
		o.Version = "dev"
	}
	if o.Now == nil {
		o.Now = time.Now
	}
}

// noRedirects makes a client answer a redirect as it is: a plugin pod that
// answers 3xx must not send the shim, with the caller's identity and JWT,
// to another address.
func noRedirects(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
