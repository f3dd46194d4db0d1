package controllers

import (
	"net/http"
	"time"
)

// Defaults of the reconcilers' options.
const (
	// DefaultTTLAfterFinished keeps a finished invocation for 30 days, the
	// Python framework's SCHEDULE_PERSISTENT_DAYS.
	DefaultTTLAfterFinished = 30 * 24 * time.Hour
	// DefaultMaxStatusBytes bounds outputs plus storage so that an
	// invocation stays well below the API server's 1.5 MiB object limit.
	DefaultMaxStatusBytes = 1 << 20
)

// PluginVersionOptions configures the PluginVersion reconciler.
type PluginVersionOptions struct {
	// HTTPClient calls plugin pods; nil means a client with sane timeouts.
	HTTPClient *http.Client
	// ClusterDomain resolves Service endpoints to
	// http://<name>.<namespace>.svc.<domain>:<port>.
	ClusterDomain string
	// ResolveService, when set, turns a Service endpoint into a base URL
	// instead of cluster DNS (used when the manager runs outside the cluster).
	ResolveService func(namespace, name string, port int32) string
	// ProbeInterval is how often a Ready version is probed again.
	ProbeInterval time.Duration
	// MaxProbeBackoff caps the wait between probes of a version that is not Ready.
	MaxProbeBackoff time.Duration
	// MaxConcurrentProbes is how many versions are probed at once, so that a
	// pod that never answers delays no other version's probe; 0 means
	// DefaultMaxConcurrentProbes.
	MaxConcurrentProbes int
}

// InvocationOptions configures the PluginInvocation reconciler.
type InvocationOptions struct {
	// HTTPClient calls plugin pods and finish-notification URLs; nil means a
	// pooled client that reuses connections.
	HTTPClient *http.Client
	// ClusterDomain and ResolveService locate plugin pods, as for versions.
	ClusterDomain  string
	ResolveService func(namespace, name string, port int32) string
	// CallbackBaseURL is the shim's URL as third parties reach it, such as
	// http://bk-plugin-shim.bk-plugin.svc:8080; callback URLs are built under
	// it as /plugins/<code>/bk_plugin/callback/<token>/.
	CallbackBaseURL string
	// CallbackKey is the master key callback tokens are derived from.
	CallbackKey []byte
	// DefaultTTL applies to invocations without ttlSecondsAfterFinished.
	DefaultTTL time.Duration
	// RetryBudget bounds how long transport errors calling a plugin pod are
	// retried before the invocation ends FAIL.
	RetryBudget time.Duration
	// RetryInitialInterval and RetryMaxInterval shape the exponential backoff
	// between those retries.
	RetryInitialInterval time.Duration
	RetryMaxInterval     time.Duration
	// MaxStatusBytes bounds outputs plus storage; an answer beyond it ends
	// the invocation FAIL "storage too large".
	MaxStatusBytes int
	// MaxConcurrentReconciles is how many invocations are reconciled at once.
	MaxConcurrentReconciles int
}
