package invocation

import (
	"time"

	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
)

// Defaults of the poll interval bounds (Options.MinPollInterval and
// MaxPollInterval).
const (
	// DefaultMinPollInterval keeps a plugin answering POLL with interval 0
	// from executing in a tight loop.
	DefaultMinPollInterval = pluginexec.DefaultMinPollInterval
	// DefaultMaxPollInterval keeps a huge interval from overflowing, or
	// from parking an invocation for years.
	DefaultMaxPollInterval = pluginexec.DefaultMaxPollInterval
)

// pollInterval turns the interval a plugin asked for into the wait before
// its next execute (pluginexec.PollInterval).
func pollInterval(seconds float64, minPoll, maxPoll time.Duration) (d time.Duration, note string, err error) {
	return pluginexec.PollInterval(seconds, minPoll, maxPoll)
}

// pollNotBefore is the earliest time a polling invocation may execute
// again. exact is the due time the reconciler remembers from its own write,
// when known; status keeps nextPollTime in whole seconds, so without it the
// due time lies somewhere in the second recorded, and the poll waits for
// that second's end rather than come early.
func pollNotBefore(recorded, exact time.Time, known bool) time.Time {
	if known {
		return exact
	}
	if recorded.Nanosecond() != 0 {
		return recorded
	}
	return recorded.Add(time.Second)
}
