package version

import (
	"net/http"
	"time"
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
}
