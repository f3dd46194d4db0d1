package invocation

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// wakeupBuffer bounds the execute wake-ups waiting for the controller; one
// that finds the buffer full is dropped, and the deferred execute looks
// again after queuedRecheck.
const wakeupBuffer = 1024

// groupLookupTimeout bounds the cache read that names a queued item's
// plugin; the cache answers from memory, so it only guards a stuck cache.
const groupLookupTimeout = 5 * time.Second

// pluginGroupOf names a request's fairness group, "<namespace>/<plugin>",
// from the cache; a request whose invocation is gone is a group of its own
// namespace, where it is reconciled once and forgotten.
//
// The read shares the cache's object instead of deep-copying it: the group
// needs one string of the spec, and a copy would duplicate the whole
// invocation (inputs, outputs, storage, logs) on each item's first add,
// which is every invocation of a flood. Nothing here writes to the object.
func pluginGroupOf(c client.Reader) func(reconcile.Request) string {
	return func(req reconcile.Request) string {
		ctx, cancel := context.WithTimeout(context.Background(), groupLookupTimeout)
		defer cancel()
		var inv bkv1.PluginInvocation
		if err := c.Get(ctx, req.NamespacedName, &inv, client.UnsafeDisableDeepCopy); err != nil {
			return req.Namespace + "/"
		}
		return req.Namespace + "/" + inv.Spec.Plugin
	}
}

// newQueue is the controller's NewQueue: a fair queue over plugins that
// reads each item's plugin from cache and feeds the controller's workqueue
// metrics, as controller-runtime's own queue would.
func (r *Reconciler) newQueue(cache client.Reader) func(string, workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
	return func(name string, rl workqueue.TypedRateLimiter[reconcile.Request]) workqueue.TypedRateLimitingInterface[reconcile.Request] {
		var qm *queueMetrics
		if m := r.Metrics; m != nil && m.workqueue != nil {
			qm = newQueueMetrics(m.workqueue.provider(), m.queueDepth, m.queueWorkers, name, clock.RealClock{})
		}
		return newFairQueue(fairQueueOptions{GroupOf: pluginGroupOf(cache), MaxPerGroup: r.Options.MaxWorkersPerPlugin, Limiter: rl, Metrics: qm})
	}
}

// wakeExecute asks the controller to reconcile key now: an execute slot of
// its version is free.
func (r *Reconciler) wakeExecute(key types.NamespacedName) {
	inv := &bkv1.PluginInvocation{}
	inv.Namespace, inv.Name = key.Namespace, key.Name
	select {
	case r.wakeups <- event.GenericEvent{Object: inv}:
	default:
	}
}
