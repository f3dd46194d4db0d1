// Package canary holds the manager's own counters of how each plugin
// version's invocations end, which the PluginVersion reconciler reads to
// roll a canary back (docs/versioning.md). The invocation reconciler
// records every invocation that reaches SUCCESS or FAIL; both reconcilers
// are given the same *Window through their options.
//
// The counters live in the manager's memory: they start empty when the
// manager (or the leader) changes, which delays a rollback by at most one
// window and never causes one.
package canary

import (
	"sync"
	"time"
)

// MaxWindow is the longest window Count can answer for; older outcomes are
// dropped. The CRD bounds spec.canary.window to it.
const MaxWindow = time.Hour

// sweepEvery is how many records pass between sweeps of versions that
// recorded nothing within MaxWindow, so that deleted versions do not keep
// memory.
const sweepEvery = 4096

// Key names one plugin version in one namespace.
type Key struct {
	Namespace, Plugin, Version string
}

// Counts are the outcomes of one version within a window.
type Counts struct {
	// Samples is how many invocations ended, SUCCESS or FAIL.
	Samples int
	// Failures is how many of them ended FAIL.
	Failures int
}

// Window counts outcomes per version in one-second buckets over the last
// MaxWindow. It is safe for concurrent use; a nil *Window records nothing
// and counts zero.
type Window struct {
	mu      sync.Mutex
	series  map[Key][]bucket
	records int
}

// bucket is one second's outcomes of one version.
type bucket struct {
	sec            int64
	samples, fails int
}

// NewWindow returns an empty Window.
func NewWindow() *Window {
	return &Window{series: map[Key][]bucket{}}
}

// Record counts one invocation of k that ended at at, failed or not.
func (w *Window) Record(k Key, failed bool, at time.Time) {
	if w == nil {
		return
	}
	sec := at.Unix()
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.series[k]
	// Outcomes arrive roughly in time order; one from a reconcile that
	// started a moment earlier lands in the latest bucket rather than
	// reordering the slice.
	if n := len(s); n > 0 && s[n-1].sec >= sec {
		s[n-1].samples++
		if failed {
			s[n-1].fails++
		}
	} else {
		b := bucket{sec: sec, samples: 1}
		if failed {
			b.fails = 1
		}
		s = append(s, b)
	}
	w.series[k] = dropBefore(s, sec-int64(MaxWindow/time.Second))
	w.records++
	if w.records%sweepEvery == 0 {
		for key, ks := range w.series {
			if len(ks) == 0 || ks[len(ks)-1].sec < sec-int64(MaxWindow/time.Second) {
				delete(w.series, key)
			}
		}
	}
}

// Count returns k's outcomes that ended within window before now (at most
// MaxWindow), to the second: the second the window starts in counts whole,
// as status times (a canary's arming) are whole seconds too.
func (w *Window) Count(k Key, window time.Duration, now time.Time) Counts {
	if w == nil {
		return Counts{}
	}
	window = min(window, MaxWindow)
	from := now.Add(-window).Unix()
	w.mu.Lock()
	defer w.mu.Unlock()
	var c Counts
	for _, b := range w.series[k] {
		if b.sec >= from {
			c.Samples += b.samples
			c.Failures += b.fails
		}
	}
	return c
}

// dropBefore removes the buckets older than sec from the front of s.
func dropBefore(s []bucket, sec int64) []bucket {
	i := 0
	for i < len(s) && s[i].sec < sec {
		i++
	}
	if i == 0 {
		return s
	}
	return append(s[:0:0], s[i:]...)
}
