package invocation

import (
	"fmt"
	"math"
	"time"
)

// Defaults of the poll interval bounds (Options.MinPollInterval and
// MaxPollInterval).
const (
	// DefaultMinPollInterval keeps a plugin answering POLL with interval 0
	// from executing in a tight loop.
	DefaultMinPollInterval = time.Second
	// DefaultMaxPollInterval keeps a huge interval from overflowing, or
	// from parking an invocation for years.
	DefaultMaxPollInterval = 24 * time.Hour
)

// pollInterval turns the interval a plugin asked for, in seconds, into the
// wait before its next execute, within [minPoll, maxPoll] (a zero bound is
// no bound). A negative or not-a-number interval is a protocol error; one
// out of bounds is clamped, and note says so for the Running condition.
// The conversion never overflows: 1e12 seconds is past what a Duration
// holds, and multiplying first would wrap it negative (issue 15, finding 6).
func pollInterval(seconds float64, minPoll, maxPoll time.Duration) (d time.Duration, note string, err error) {
	switch {
	case math.IsNaN(seconds):
		return 0, "", fmt.Errorf("plugin asked to poll after an interval that is not a number")
	case seconds < 0:
		return 0, "", fmt.Errorf("plugin asked to poll after a negative interval (%gs)", seconds)
	}
	ceiling := time.Duration(math.MaxInt64)
	if maxPoll > 0 {
		ceiling = maxPoll
	}
	if seconds >= ceiling.Seconds() {
		if seconds > ceiling.Seconds() {
			note = fmt.Sprintf(" (the plugin asked for %gs; the maximum is %s)", seconds, ceiling)
		}
		return ceiling, note, nil
	}
	d = time.Duration(seconds * float64(time.Second))
	if d < minPoll {
		return minPoll, fmt.Sprintf(" (the plugin asked for %gs; the minimum is %s)", seconds, minPoll), nil
	}
	return d, "", nil
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
