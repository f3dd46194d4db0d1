package invocation

import (
	"context"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/retire"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
)

// gateOutcome is what the limits of an invocation's version allow now.
type gateOutcome struct {
	// proceed: execute now; inv is the invocation to execute (with Queued
	// False when it waited) and release gives back its execute slot.
	proceed bool
	inv     *bkv1.PluginInvocation
	release func()
	// Otherwise the reconcile ends with result and err.
	result reconcile.Result
	err    error
}

// gate applies plv's limits to an execute of inv that planStep asked for:
// a slot of maxActiveInvocations (read from the cache, so it holds across
// restarts), an execute slot of maxExecutesInFlight, and a token of
// executesPerSecond. Whatever is not free defers the execute; nothing is
// dropped.
func (r *Reconciler) gate(ctx context.Context, inv *bkv1.PluginInvocation, plv *bkv1.PluginVersion, traceID string, now time.Time) gateOutcome {
	lim := limitsOf(plv)
	key := client.ObjectKeyFromObject(inv)
	vk := gateKey(inv.Namespace, plv.Spec.Plugin, plv.Spec.Version)
	if lim.maxActive > 0 && !holdsSlot(inv) {
		d, err := r.admission(ctx, inv, vk, plv.Spec.Version, lim.maxActive)
		if err != nil {
			return gateOutcome{err: err}
		}
		if !d.admit {
			return r.writeQueued(ctx, inv, traceID, plv, lim.maxActive, d, now)
		}
		inv = admittedCopy(inv, now)
	}
	release := func() {}
	if lim.maxInFlight > 0 {
		ok, place := r.gates.tryAcquire(vk, key, lim.maxInFlight)
		if !ok {
			r.Metrics.deferred(inv.Spec.Plugin, "in_flight")
			// A freed slot wakes the first waiting; the recheck is only a
			// safety net, later for those further back.
			return gateOutcome{result: reconcile.Result{RequeueAfter: queuedRecheck(place)}}
		}
		var once sync.Once
		release = func() { once.Do(func() { r.gates.release(vk) }) }
	}
	if lim.perSecond > 0 {
		if wait := r.gates.reserve(vk, key, lim.perSecond, lim.burst, r.Clock.Now()); wait > 0 {
			release()
			r.Metrics.deferred(inv.Spec.Plugin, "rate")
			return gateOutcome{result: reconcile.Result{RequeueAfter: wait}}
		}
	}
	return gateOutcome{proceed: true, inv: inv, release: release}
}

// admission gathers the version's live invocations from the cache and
// decides, under the version's admission lock, whether inv may start. The
// admissions this manager made that the cache does not show yet count as
// started.
func (r *Reconciler) admission(ctx context.Context, inv *bkv1.PluginInvocation, vk, version string, maxActive int32) (admissionDecision, error) {
	g := r.gates.get(vk)
	g.admitMu.Lock()
	defer g.admitMu.Unlock()
	live, err := r.liveEntries(ctx, inv.Namespace, inv.Spec.Plugin, version)
	if err != nil {
		return admissionDecision{}, err
	}
	seen := make(map[string]struct{}, len(live))
	for i := range live {
		seen[live[i].name] = struct{}{}
		if _, ok := g.pending[live[i].name]; ok {
			if live[i].admitted {
				// The cache caught up.
				delete(g.pending, live[i].name)
			}
			live[i].admitted = true
		}
	}
	for name := range g.pending {
		if _, ok := seen[name]; ok {
			continue
		}
		// Not in the version's live index: finished or deleted, so it
		// holds no slot any more; or admitted under a version constraint
		// and not yet written with its resolved version, so it still does.
		other := &bkv1.PluginInvocation{}
		err := r.Get(ctx, client.ObjectKey{Namespace: inv.Namespace, Name: name}, other)
		if apierrors.IsNotFound(err) || (err == nil && other.Status.State.Terminal()) {
			delete(g.pending, name)
			continue
		}
		if err != nil {
			return admissionDecision{}, fmt.Errorf("read admitted invocation %s/%s: %w", inv.Namespace, name, err)
		}
		live = append(live, queueEntry{name: name, admitted: true})
	}
	d := decideAdmission(maxActive, entryOf(inv), live)
	if d.admit {
		g.pending[inv.Name] = struct{}{}
	}
	return d, nil
}

// liveEntries lists the live invocations of plugin@version in namespace
// from the cache's live-invocation index, without copying them.
func (r *Reconciler) liveEntries(ctx context.Context, namespace, plugin, version string) ([]queueEntry, error) {
	var list bkv1.PluginInvocationList
	if err := r.List(ctx, &list, client.InNamespace(namespace), client.UnsafeDisableDeepCopy,
		client.MatchingFields{retire.IndexInvocationVersion: retire.VersionKey(plugin, version)}); err != nil {
		return nil, fmt.Errorf("list live invocations of %s@%s: %w", plugin, version, err)
	}
	out := make([]queueEntry, 0, len(list.Items))
	for i := range list.Items {
		out = append(out, entryOf(&list.Items[i]))
	}
	return out, nil
}

// writeQueued records that inv waits for a slot (when queuedStatus says the
// status changed enough to write) and looks again after queuedRecheck,
// unless a finishing invocation wakes it first.
func (r *Reconciler) writeQueued(ctx context.Context, inv *bkv1.PluginInvocation, traceID string, plv *bkv1.PluginVersion, maxActive int32, d admissionDecision, now time.Time) gateOutcome {
	out := gateOutcome{result: reconcile.Result{RequeueAfter: queuedRecheck(d.position)}}
	st, write := queuedStatus(inv, traceID, plv.Spec.Version, plv.Name, maxActive, d, now)
	if !write {
		return out
	}
	written, err := r.persistStatus(ctx, inv, st)
	if err != nil {
		return gateOutcome{err: fmt.Errorf("update status of queued invocation %s/%s: %w", inv.Namespace, inv.Name, err)}
	}
	if ev, ok := queuedEvent(&inv.Status, &st); ok {
		r.Metrics.deferred(inv.Spec.Plugin, "queued")
		r.emit(written, ev, "Admit")
		logf.FromContext(ctx).V(1).Info("queued", "position", d.position, "active", d.active)
	}
	return out
}

// wakeQueued maps a finished (or deleted) invocation to the waiting
// invocations of its version that may start now, for the watch that wakes
// them.
func (r *Reconciler) wakeQueued(ctx context.Context, o client.Object) []reconcile.Request {
	inv, ok := o.(*bkv1.PluginInvocation)
	if !ok {
		return nil
	}
	version := inv.Status.ResolvedVersion
	if version == "" {
		return nil
	}
	var plv *bkv1.PluginVersion
	var list bkv1.PluginVersionList
	if err := r.List(ctx, &list, client.InNamespace(inv.Namespace), client.UnsafeDisableDeepCopy,
		client.MatchingFields{versions.IndexPluginVersionPlugin: inv.Spec.Plugin}); err != nil {
		return nil
	}
	for i := range list.Items {
		if list.Items[i].Spec.Plugin == inv.Spec.Plugin && list.Items[i].Spec.Version == version {
			plv = &list.Items[i]
			break
		}
	}
	if plv == nil {
		return nil
	}
	lim := limitsOf(plv)
	if lim.maxActive == 0 {
		return nil
	}
	live, err := r.liveEntries(ctx, inv.Namespace, inv.Spec.Plugin, version)
	if err != nil {
		return nil
	}
	names := wakeNext(lim.maxActive, live)
	out := make([]reconcile.Request, len(names))
	for i, n := range names {
		out[i] = reconcile.Request{NamespacedName: types.NamespacedName{Namespace: inv.Namespace, Name: n}}
	}
	return out
}
