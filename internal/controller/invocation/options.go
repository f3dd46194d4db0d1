package invocation

import (
	"net/http"
	"time"
)

// Defaults of Options.
const (
	// DefaultTTLAfterFinished keeps a finished invocation for 30 days, the
	// Python framework's SCHEDULE_PERSISTENT_DAYS.
	DefaultTTLAfterFinished = 30 * 24 * time.Hour
	// DefaultMaxStatusBytes bounds outputs plus storage so that an
	// invocation stays well below the API server's 1.5 MiB object limit.
	DefaultMaxStatusBytes = 1 << 20
)

// Options configures the PluginInvocation reconciler.
type Options struct {
	// HTTPClient calls plugin pods and finish-notification URLs; nil means a
	// pooled client that reuses connections.
	HTTPClient *http.Client
	// ClusterDomain and ResolveService locate plugin pods, as the
	// PluginVersion reconciler's options do.
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
