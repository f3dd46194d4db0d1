package invocation

import (
	"fmt"
	"testing"
	"time"
)

// Each plugin has its own bucket: one plugin's burst of failures does not
// silence another's, and a bucket refills at the sustained rate.
func TestEventLimiter(t *testing.T) {
	l := newEventLimiter(60, 3) // one a second, three at once
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	steps := []struct {
		plugin string
		at     time.Duration
		want   bool
	}{
		{"a", 0, true}, {"a", 0, true}, {"a", 0, true},
		{"a", 0, false}, // the burst is spent
		{"b", 0, true},  // another plugin's bucket is full
		{"a", 500 * time.Millisecond, false},
		{"a", time.Second, true}, // one token back after a second
		{"a", time.Second, false},
		{"a", 10 * time.Second, true}, {"a", 10 * time.Second, true}, {"a", 10 * time.Second, true},
		{"a", 10 * time.Second, false}, // refilled to the burst, not beyond
	}
	for i, s := range steps {
		if got := l.allow(s.plugin, t0.Add(s.at)); got != s.want {
			t.Fatalf("step %d (%s at +%s): allow = %v, want %v", i, s.plugin, s.at, got, s.want)
		}
	}
}

// The buckets kept are bounded: full ones are forgotten first when the
// bound is reached, so a plugin that is still limited keeps its bucket.
func TestEventLimiterForgetsFullBuckets(t *testing.T) {
	l := newEventLimiter(60, 1)
	t0 := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	for i := range maxLimitedPlugins - 1 {
		l.allow(fmt.Sprintf("p%d", i), t0.Add(-10*time.Second)) // full again by t0
	}
	l.allow("busy", t0) // spent until t0+1s
	l.allow("new", t0.Add(100*time.Millisecond))
	if len(l.buckets) > maxLimitedPlugins {
		t.Fatalf("%d buckets kept, bound %d", len(l.buckets), maxLimitedPlugins)
	}
	if l.allow("busy", t0.Add(200*time.Millisecond)) {
		t.Fatal("a limited plugin's bucket was forgotten")
	}
}
