package invocation

import (
	"context"
	"time"

	"k8s.io/apimachinery/pkg/types"
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
func pluginGroupOf(c client.Reader) func(reconcile.Request) string {
	return func(req reconcile.Request) string {
		ctx, cancel := context.WithTimeout(context.Background(), groupLookupTimeout)
		defer cancel()
		inv := &bkv1.PluginInvocation{}
		if err := c.Get(ctx, req.NamespacedName, inv); err != nil {
			return req.Namespace + "/"
		}
		return req.Namespace + "/" + inv.Spec.Plugin
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
