package server

import "time"

// Defaults of Options.
const (
	// DefaultRetireGracePeriod bounds how long a deleted server waits for
	// live invocations when it sets no retireGracePeriodSeconds.
	DefaultRetireGracePeriod = time.Hour
)

// Options configure the PluginServer reconciler; zero values take defaults.
type Options struct {
	// ClusterDomain words status.endpoint as
	// http://<name>.<namespace>.svc.<domain>:80; "" means
	// versions.DefaultClusterDomain.
	ClusterDomain string
	// RetireGracePeriod is the default of spec.retireGracePeriodSeconds.
	RetireGracePeriod time.Duration
}

func (o Options) retireGracePeriod() time.Duration {
	if o.RetireGracePeriod <= 0 {
		return DefaultRetireGracePeriod
	}
	return o.RetireGracePeriod
}
