package invocation

import (
	"net/http"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/internal/canary"
	"github.com/bkplugin/bk-plugin-operator/internal/history"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// Defaults of Options.
const (
	// DefaultKeepFinished keeps a finished, archived invocation in the
	// cluster for ten minutes: long enough for a caller's last schedule poll
	// and a look with kubectl, short enough that etcd and every informer
	// cache hold live work only. Its history is in the archive.
	DefaultKeepFinished = 10 * time.Minute
	// DefaultMaxStatusBytes bounds outputs plus storage so that an
	// invocation stays well below the API server's 1.5 MiB object limit.
	DefaultMaxStatusBytes = pluginexec.DefaultMaxStatusBytes
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
	// CallbackKey gives the master key callback tokens are derived from,
	// read at each execute so that a rotated key is used with no restart
	// (the manager's callbackkey.Ring; callbackkey.Static for a fixed key).
	// Nil: plugins cannot prepare callbacks.
	CallbackKey callbackkey.Provider
	// CallbackTokenTTL is how long the callback tokens a plugin signs stay
	// valid; zero means protocol.DefaultCallbackTokenTTL. The shim refuses
	// tokens that expire further ahead than its own bound (a day).
	CallbackTokenTTL time.Duration
	// ExecuteToken, when set, returns the token sent with every execute so
	// that plugin pods know it comes from the manager (the manager's
	// --execute-token-file, protocol.ExecuteTokenFile).
	ExecuteToken func() string
	// Archive is the history archive every finished invocation is written
	// to before it is deleted; required.
	Archive archive.Archive
	// KeepFinished is how long a finished invocation stays in the cluster
	// once archived, counted from its completion, when it sets no
	// ttlSecondsAfterFinished; DefaultKeepFinished when zero.
	KeepFinished time.Duration
	// LogLimits bound the plugin log lines an invocation keeps in status
	// until it is archived; history's defaults when zero.
	LogLimits history.LogLimits
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
	// MinPollInterval and MaxPollInterval bound the interval a plugin may
	// ask to be polled after; one outside is clamped. Zero means
	// DefaultMinPollInterval and DefaultMaxPollInterval.
	MinPollInterval time.Duration
	MaxPollInterval time.Duration
	// MaxCallbacksPerAnswer and MaxPreparedCallbacks bound the callbacks
	// one answer, and one invocation in all, may prepare; beyond them the
	// invocation ends FAIL. Zero means the defaults.
	MaxCallbacksPerAnswer int
	MaxPreparedCallbacks  int
	// MaxConcurrentReconciles is how many invocations are reconciled at once.
	MaxConcurrentReconciles int
	// Outcomes, when set, counts every invocation that ends SUCCESS or FAIL
	// per version, for the PluginVersion reconciler's canary rollback (the
	// same *canary.Window goes into its options).
	Outcomes *canary.Window
	// EventsPerMinute and EventBurst bound the events the invocations of
	// one plugin record (failures, retries, failed cancel hooks): a token
	// bucket per plugin, EventBurst at once and EventsPerMinute sustained.
	// Zero means DefaultEventsPerMinute and DefaultEventBurst.
	EventsPerMinute float64
	EventBurst      int
	// MaxWorkersPerPlugin bounds the workers one plugin's invocations hold
	// at once, so that the others always find one (fair_queue.go); zero
	// means three quarters of MaxConcurrentReconciles.
	MaxWorkersPerPlugin int
	// Tracing traces each reconcile as a child of the trace the shim left on
	// the invocation (bkv1.AnnotationTraceparent), and each execute, whose
	// request carries the trace to the plugin pod; the zero value records
	// nothing but still passes the trace context on.
	Tracing tracing.Tracing
	// Reprobe, when set, is told of executes that found a version's endpoint
	// dead, so that the PluginVersion reconciler probes it at once
	// (versions.Reprobe); the manager shares one with that reconciler.
	Reprobe *versions.Reprobe
	// ProcessStart is when this manager process started; zero means when
	// the reconciler is set up. An invocation created before it may have
	// been archived by an earlier process that died before writing its
	// status, so its first execute here reads the archive first
	// (adopt.go). Tests set it to pretend a restart.
	ProcessStart time.Time
}
