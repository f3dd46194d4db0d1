package shim

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/client-go/rest"

	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/internal/cmdutil"
	"github.com/bkplugin/bk-plugin-operator/internal/identity"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// CommandOptions are the shim command's options, as its flags give them
// (cmd/apiserver): files are paths, read by RunCommand.
type CommandOptions struct {
	// Addr, MetricsAddr, Namespace, InvokeTimeout, ShutdownTimeout,
	// MaxBodyBytes, ClusterDomain, Version and DebugAPI are as in Options.
	Addr, MetricsAddr, Namespace string
	InvokeTimeout                time.Duration
	ShutdownTimeout              time.Duration
	MaxBodyBytes                 int64
	ClusterDomain                string
	Version                      string
	DebugAPI                     bool
	// QPS and Burst bound the client's requests to the API server.
	QPS   float64
	Burst int
	// CallbackKeyFile holds the callback signing key; "" refuses callbacks.
	CallbackKeyFile string
	// PreviousKeyFile holds the previous key, accepted while keys rotate.
	PreviousKeyFile string
	// CallbackKeyGrace is how long a key replaced in CallbackKeyFile is
	// still accepted; callbackkey.DefaultGrace when zero.
	CallbackKeyGrace time.Duration
	// CallbackTokenMaxTTL is as in Options.
	CallbackTokenMaxTTL time.Duration
	// AuthTokenFile holds bearer tokens, "token [app_code]" a line
	// (identity.ParseTokens).
	AuthTokenFile string
	// GatewayPublicKeys is a PEM file or a directory of them, one per API
	// gateway name (identity.LoadGatewayKeys), to verify X-Bkapi-JWT.
	GatewayPublicKeys string
	// JWTLeeway, TrustIdentityHeaders, PublicRoutes and BodyReadTimeout
	// are as in Options.
	JWTLeeway            time.Duration
	TrustIdentityHeaders bool
	PublicRoutes         []string
	BodyReadTimeout      time.Duration
	// InsecureNoAuth lets the shim run with neither tokens nor gateway
	// keys, serving every caller anonymously. Without it, RunCommand
	// refuses to start open.
	InsecureNoAuth bool
	// ArchiveDSN names the archive of finished invocations (--archive), as
	// Options.ArchiveDSN.
	ArchiveDSN string
	// SyncInvoke is --sync-invoke: direct (default) or cluster, as
	// Options.SyncInvoke.
	SyncInvoke string
	// CallbackBaseURL and CallbackTokenTTL are the manager's flags of the
	// same names, for the first executes the shim makes.
	CallbackBaseURL  string
	CallbackTokenTTL time.Duration
	// ExecuteTokenFile holds the token plugin pods check on an execute,
	// the manager's --execute-token-file.
	ExecuteTokenFile string
	// MinPollInterval and MaxPollInterval are the manager's flags of the
	// same names: the shim's first executes clamp a plugin's poll interval
	// as the manager does.
	MinPollInterval, MaxPollInterval time.Duration
	// PprofAddr serves net/http/pprof when set.
	PprofAddr string
	// LoadConfig returns how to reach the API server; it is called after
	// the files are read, so that a bad file is reported first.
	LoadConfig func() (*rest.Config, error)
	// Logger logs the shim.
	Logger logr.Logger
}

// RunCommand reads the key and token files, then serves the shim until ctx
// ends.
func RunCommand(ctx context.Context, o CommandOptions) error {
	log := o.Logger
	if o.CallbackTokenMaxTTL < 0 || o.CallbackTokenMaxTTL > protocol.DefaultCallbackTokenTTL {
		return fmt.Errorf("--callback-token-max-ttl must be between 0 (the default, %s) and %s, got %s",
			protocol.DefaultCallbackTokenTTL, protocol.DefaultCallbackTokenTTL, o.CallbackTokenMaxTTL)
	}
	if o.CallbackKeyGrace < 0 {
		return fmt.Errorf("--callback-key-grace must not be negative, got %s", o.CallbackKeyGrace)
	}
	keys, err := callbackKeys(o, log)
	if err != nil {
		return err
	}
	tokens, gatewayKeys, err := loadAuth(o, log)
	if err != nil {
		return err
	}

	if o.ArchiveDSN == "" {
		log.Info("no --archive: finished invocations can be read only while they are in the cluster, and every invoke goes through the cluster")
	}
	mode, err := ParseSyncInvoke(o.SyncInvoke)
	if err != nil {
		return err
	}
	executeToken, err := cmdutil.ExecuteToken(o.ExecuteTokenFile)
	if err != nil {
		return err
	}
	if mode == SyncInvokeDirect && o.CallbackKeyFile != "" && o.CallbackBaseURL == "" {
		log.Info("--sync-invoke=direct without --callback-base-url: a plugin's first execute made by the shim gets no callback URL")
	}
	limits := pluginexec.DefaultLimits()
	if o.MinPollInterval > 0 {
		limits.MinPoll = o.MinPollInterval
	}
	if o.MaxPollInterval > 0 {
		limits.MaxPoll = o.MaxPollInterval
	}

	if o.PprofAddr != "" {
		if err := servePprof(o.PprofAddr); err != nil {
			return err
		}
		log.Info("serving pprof", "addr", o.PprofAddr)
	}

	cfg, err := o.LoadConfig()
	if err != nil {
		return fmt.Errorf("load kubeconfig: %w", err)
	}
	cfg.QPS, cfg.Burst = float32(o.QPS), o.Burst
	// Traces go where the OTEL_* environment says; nowhere by default.
	traces, flush, err := tracing.Setup(ctx, tracing.Options{ServiceName: TracingServiceName, ServiceVersion: o.Version})
	if err != nil {
		return err
	}
	defer func() {
		if err := flush.AtExit(ctx); err != nil {
			log.Error(err, "flushing traces")
		}
	}()
	if traces.TracerProvider != nil {
		log.Info("exporting traces as the OTEL_* environment says")
	}
	srv, err := New(Options{
		Config:               cfg,
		Namespace:            o.Namespace,
		CallbackKeys:         keys,
		CallbackTokenMaxTTL:  o.CallbackTokenMaxTTL,
		Tokens:               tokens,
		GatewayKeys:          gatewayKeys,
		JWTLeeway:            o.JWTLeeway,
		TrustIdentityHeaders: o.TrustIdentityHeaders,
		PublicRoutes:         o.PublicRoutes,
		BodyReadTimeout:      o.BodyReadTimeout,
		InvokeTimeout:        o.InvokeTimeout,
		MaxBodyBytes:         o.MaxBodyBytes,
		ClusterDomain:        o.ClusterDomain,
		Logger:               log,
		Addr:                 o.Addr,
		MetricsAddr:          o.MetricsAddr,
		ShutdownTimeout:      o.ShutdownTimeout,
		Version:              o.Version,
		DebugAPI:             o.DebugAPI,
		ArchiveDSN:           o.ArchiveDSN,
		SyncInvoke:           mode,
		CallbackBaseURL:      o.CallbackBaseURL,
		CallbackTokenTTL:     o.CallbackTokenTTL,
		ExecuteToken:         executeToken,
		ExecuteLimits:        limits,
		Tracing:              traces,
	})
	if err != nil {
		return err
	}
	return srv.Run(ctx)
}

// callbackKeys follows --callback-key-file (callbackkey.Ring: a rotated
// key counts within a second, the replaced one is accepted for the grace
// period) and adds --callback-previous-key-file's key, always accepted.
func callbackKeys(o CommandOptions, log logr.Logger) (callbackkey.Verifier, error) {
	var previous [][]byte
	if o.PreviousKeyFile != "" {
		prev, err := cmdutil.ReadCallbackKey(o.PreviousKeyFile)
		if err != nil {
			return nil, err
		}
		previous = append(previous, prev)
	}
	if o.CallbackKeyFile == "" {
		log.Info("no --callback-key-file: every callback signed with the manager's key will be refused")
		return callbackkey.StaticKeys(previous), nil
	}
	ring, err := callbackkey.NewRing(callbackkey.RingOptions{
		File: o.CallbackKeyFile, Grace: o.CallbackKeyGrace, Static: previous, Log: log.WithName("callback-key"),
	})
	if err != nil {
		return nil, err
	}
	return ring, nil
}

// servePprof serves net/http/pprof on addr, on a mux of its own so that
// the profiles are never reachable on the API's address.
func servePprof(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen for pprof on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	go func() { _ = (&http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}).Serve(ln) }()
	return nil
}

// loadAuth reads how callers authenticate: the token file and the gateway
// keys. With neither it refuses to run, unless --insecure-no-auth says
// that an open shim is meant; the dev-only modes are logged loudly.
func loadAuth(o CommandOptions, log logr.Logger) (*identity.Tokens, *identity.GatewayKeys, error) {
	tokens, err := readTokens(o.AuthTokenFile)
	if err != nil {
		return nil, nil, err
	}
	var keys *identity.GatewayKeys
	if o.GatewayPublicKeys != "" {
		if keys, err = identity.LoadGatewayKeys(o.GatewayPublicKeys, nil); err != nil {
			return nil, nil, fmt.Errorf("--gateway-public-keys: %w", err)
		}
		log.Info("verifying X-Bkapi-JWT", "gateways", keys.Names())
	}
	switch {
	case tokens.Len() == 0 && keys == nil && !o.InsecureNoAuth:
		return nil, nil, errors.New("no authentication configured: set --auth-token-file and/or --gateway-public-keys " +
			"(or --insecure-no-auth, for a laptop only, to serve every caller anonymously)")
	case tokens.Len() == 0 && keys == nil:
		log.Info("WARNING: --insecure-no-auth: every caller is anonymous and may invoke any plugin and read any invocation")
	}
	if o.TrustIdentityHeaders {
		log.Info("WARNING: --trust-identity-headers: callers name their own app code and user (X-Bkplugin-App-Code, X-Bkplugin-Username); " +
			"allow_scope can be bypassed by anyone who reaches the shim. For development only")
	}
	if len(o.PublicRoutes) > 0 {
		log.Info("routes served without a credential", "routes", o.PublicRoutes)
	}
	return tokens, keys, nil
}

// readTokens reads a token file (identity.ParseTokens); "" is no tokens.
func readTokens(path string) (*identity.Tokens, error) {
	if path == "" {
		return nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read auth tokens: %w", err)
	}
	defer f.Close()
	tokens, err := identity.ParseTokens(f, path)
	if err != nil {
		return nil, fmt.Errorf("--auth-token-file: %w", err)
	}
	if tokens.Len() == 0 {
		return nil, errors.New("--auth-token-file " + path + " holds no token; refusing to run open by mistake")
	}
	return tokens, nil
}
