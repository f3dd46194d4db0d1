package version

import (
	"net/http"
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/canary"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
)

// Options configures the PluginVersion reconciler.
type Options struct {
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
	// Outcomes are the manager's counts of how each version's invocations
	// ended, recorded by the invocation reconciler; nil never rolls a
	// canary back.
	Outcomes *canary.Window
	// CanaryCheckInterval is how often an Active canary's FAIL rate is
	// judged; 0 means DefaultCanaryCheckInterval.
	CanaryCheckInterval time.Duration
	// Reprobe, when set, brings requests to probe a version now: the
	// invocation reconciler's, when an execute found the version's plugin
	// pod dead, so that Ready turns False within seconds rather than at the
	// next ProbeInterval.
	Reprobe *versions.Reprobe
}
