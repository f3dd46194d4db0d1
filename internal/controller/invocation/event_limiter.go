package invocation

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults of the per-plugin event bound (Options.EventsPerMinute,
// Options.EventBurst).
const (
	// DefaultEventsPerMinute is how many events one plugin's invocations
	// may record per minute, sustained.
	DefaultEventsPerMinute = 30
	// DefaultEventBurst is how many they may record at once.
	DefaultEventBurst = 10
	// maxLimitedPlugins bounds the plugins whose buckets are kept; a full
	// bucket is forgotten first, which changes nothing, since a new bucket
	// starts full.
	maxLimitedPlugins = 4096
)

// eventLimiter bounds the events the reconciler records per plugin with a
// token bucket per plugin: a plugin whose pod is down fails or retries
// every invocation at once, and one event for each would cost the API
// server a write apiece exactly when it is busiest. What is not recorded
// is still in each invocation's status and counted by a metric.
type eventLimiter struct {
	limit rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// newEventLimiter allows perMinute events a minute per plugin, burst at once.
func newEventLimiter(perMinute float64, burst int) *eventLimiter {
	return &eventLimiter{limit: rate.Limit(perMinute / 60), burst: max(burst, 1), buckets: map[string]*rate.Limiter{}}
}

// allow reports whether plugin may record an event at now, and takes a token if so.
func (l *eventLimiter) allow(plugin string, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[plugin]
	if !ok {
		if len(l.buckets) >= maxLimitedPlugins {
			l.forgetFull(now)
		}
		b = rate.NewLimiter(l.limit, l.burst)
		l.buckets[plugin] = b
	}
	return b.AllowN(now, 1)
}

// forgetFull drops the buckets that are full at now, and when that is not
// enough, any (their plugins start again with a full bucket: more events,
// never fewer than the bound allows); l.mu is held.
func (l *eventLimiter) forgetFull(now time.Time) {
	for p, b := range l.buckets {
		if b.TokensAt(now) >= float64(l.burst) {
			delete(l.buckets, p)
		}
	}
	for p := range l.buckets {
		if len(l.buckets) < maxLimitedPlugins {
			return
		}
		delete(l.buckets, p)
	}
}
