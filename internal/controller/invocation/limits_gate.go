package invocation

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
	"k8s.io/apimachinery/pkg/types"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// This file holds the in-memory half of a version's limits: the executes in
// flight (a count per version, since an execute does not survive a restart),
// the token buckets toward plugin pods, and the admissions this manager made
// that its cache may not show yet. The active-invocation count itself is
// always read from the cache (admission_gate.go), so that it holds across
// restarts.

// executionLimits are a version's limits as plain values; zero means none.
type executionLimits struct {
	maxActive   int32
	maxInFlight int
	perSecond   rate.Limit
	burst       int
}

// limitsOf reads plv's spec.limits.
func limitsOf(plv *bkv1.PluginVersion) executionLimits {
	l := plv.Spec.Limits
	if l == nil {
		return executionLimits{}
	}
	var out executionLimits
	if l.MaxActiveInvocations != nil {
		out.maxActive = *l.MaxActiveInvocations
	}
	if l.MaxExecutesInFlight != nil {
		out.maxInFlight = int(*l.MaxExecutesInFlight)
	}
	if l.ExecutesPerSecond != nil && *l.ExecutesPerSecond > 0 {
		out.perSecond = rate.Limit(*l.ExecutesPerSecond)
		out.burst = int(*l.ExecutesPerSecond)
		if l.Burst != nil {
			out.burst = int(*l.Burst)
		}
		out.burst = max(out.burst, 1)
	}
	return out
}

// gateKey names a version's gate: namespace, plugin and version.
func gateKey(namespace, plugin, version string) string {
	return namespace + "/" + plugin + "@" + version
}

// versionGate is one version's in-memory state.
type versionGate struct {
	// admitMu serializes the version's admission decisions, so that two
	// workers never both take its last free slot.
	admitMu sync.Mutex
	// pending are invocations admitted here whose admission the cache may
	// not show yet; guarded by admitMu.
	pending map[string]struct{}

	// The rest is guarded by versionGates.mu.
	inFlight int
	// waiters are invocations deferred for want of an execute slot, woken
	// in order as slots free up.
	waiters []types.NamespacedName
	waiting map[types.NamespacedName]struct{}
	limiter *rate.Limiter
}

// versionGates holds every version's gate.
type versionGates struct {
	mu       sync.Mutex
	versions map[string]*versionGate
	// reserved holds, per invocation deferred by a rate limit, the time
	// its token is due; the execute then goes ahead without another.
	reserved map[types.NamespacedName]time.Time
	// wake receives invocations to reconcile now: a freed execute slot.
	wake func(types.NamespacedName)
}

func newVersionGates(wake func(types.NamespacedName)) *versionGates {
	return &versionGates{versions: map[string]*versionGate{}, reserved: map[types.NamespacedName]time.Time{}, wake: wake}
}

// get returns key's gate, made on first use.
func (g *versionGates) get(key string) *versionGate {
	g.mu.Lock()
	defer g.mu.Unlock()
	v, ok := g.versions[key]
	if !ok {
		v = &versionGate{pending: map[string]struct{}{}, waiting: map[types.NamespacedName]struct{}{}}
		g.versions[key] = v
	}
	return v
}

// tryAcquire takes one of key's execute slots for inv, under a cap of
// limit; when none is free it records inv to be woken when one is, and
// returns its place among those waiting (1 = next).
func (g *versionGates) tryAcquire(key string, inv types.NamespacedName, limit int) (bool, int) {
	v := g.get(key)
	g.mu.Lock()
	defer g.mu.Unlock()
	if v.inFlight < limit {
		v.inFlight++
		return true, 0
	}
	if _, ok := v.waiting[inv]; !ok {
		v.waiting[inv] = struct{}{}
		v.waiters = append(v.waiters, inv)
		return false, len(v.waiters)
	}
	for i, w := range v.waiters {
		if w == inv {
			return false, i + 1
		}
	}
	return false, len(v.waiters)
}

// release gives back one of key's execute slots and wakes the first
// invocation waiting for one.
func (g *versionGates) release(key string) {
	v := g.get(key)
	g.mu.Lock()
	v.inFlight--
	var next types.NamespacedName
	woken := false
	if len(v.waiters) > 0 {
		next, v.waiters = v.waiters[0], v.waiters[1:]
		delete(v.waiting, next)
		woken = true
	}
	g.mu.Unlock()
	if woken && g.wake != nil {
		g.wake(next)
	}
}

// reserve takes a token of key's bucket (rate perSecond, size burst) for
// an execute of inv at now and returns how long the execute must wait for
// it: zero to go ahead now. A token reserved by an earlier call for inv is
// used once its time comes, so a deferred execute never takes two.
func (g *versionGates) reserve(key string, inv types.NamespacedName, perSecond rate.Limit, burst int, now time.Time) time.Duration {
	v := g.get(key)
	g.mu.Lock()
	defer g.mu.Unlock()
	if at, ok := g.reserved[inv]; ok {
		if !at.After(now) {
			delete(g.reserved, inv)
			return 0
		}
		return at.Sub(now)
	}
	if v.limiter == nil {
		v.limiter = rate.NewLimiter(perSecond, burst)
	}
	if v.limiter.Limit() != perSecond {
		v.limiter.SetLimitAt(now, perSecond)
	}
	if v.limiter.Burst() != burst {
		v.limiter.SetBurstAt(now, burst)
	}
	r := v.limiter.ReserveN(now, 1)
	if !r.OK() {
		// Only a zero burst refuses, which limitsOf never sets.
		return time.Second
	}
	d := r.DelayFrom(now)
	if d <= 0 {
		return 0
	}
	g.reserved[inv] = now.Add(d)
	return d
}

// forget drops what is kept for a deleted invocation.
func (g *versionGates) forget(inv types.NamespacedName) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.reserved, inv)
	for _, v := range g.versions {
		if _, ok := v.waiting[inv]; ok {
			delete(v.waiting, inv)
			for i, w := range v.waiters {
				if w == inv {
					v.waiters = append(v.waiters[:i], v.waiters[i+1:]...)
					break
				}
			}
		}
	}
}
