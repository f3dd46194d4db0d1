package version

import (
	"context"
	"fmt"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/retire"
)

// A version whose endpoint names a PluginServer is Ready only while the
// server is Available: probing a Service with no pod behind it would only
// say Unreachable, while the server's own condition says why.

// serverGate decides whether plv, whose endpoint names srv (nil when the
// server does not exist), may be probed; when not, it returns the Ready
// condition's reason and message.
func serverGate(plv *bkv1.PluginVersion, srv *bkv1.PluginServer) (probeResult, bool) {
	name := plv.Spec.Endpoint.Server.Name
	if srv == nil {
		return probeResult{bkv1.VersionReasonServerUnavailable, fmt.Sprintf("PluginServer %s does not exist in namespace %s", name, plv.Namespace)}, false
	}
	c := meta.FindStatusCondition(srv.Status.Conditions, bkv1.ConditionAvailable)
	switch {
	case c == nil:
		return probeResult{bkv1.VersionReasonServerUnavailable, fmt.Sprintf("PluginServer %s has not reported availability yet", name)}, false
	case c.Status != "True":
		return probeResult{bkv1.VersionReasonServerUnavailable, fmt.Sprintf("PluginServer %s is not Available: %s: %s", name, c.Reason, c.Message)}, false
	}
	return probeResult{}, true
}

// server reads the PluginServer plv's endpoint names, nil when it does not
// exist.
func (r *Reconciler) server(ctx context.Context, plv *bkv1.PluginVersion) (*bkv1.PluginServer, error) {
	srv := &bkv1.PluginServer{}
	key := types.NamespacedName{Namespace: plv.Namespace, Name: plv.Spec.Endpoint.Server.Name}
	if err := r.Get(ctx, key, srv); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return nil, nil
		}
		return nil, fmt.Errorf("get PluginServer %s of PluginVersion %s/%s: %w", key, plv.Namespace, plv.Name, err)
	}
	return srv, nil
}

// versionsOfServer maps a PluginServer to the PluginVersions naming it.
func (r *Reconciler) versionsOfServer(ctx context.Context, o client.Object) []reconcile.Request {
	versions, err := retire.VersionsOfServer(ctx, r, o.GetNamespace(), o.GetName())
	if err != nil {
		logf.FromContext(ctx).Error(err, "cannot find the versions of a PluginServer", "pluginServer", client.ObjectKeyFromObject(o))
		return nil
	}
	reqs := make([]reconcile.Request, 0, len(versions))
	for _, v := range versions {
		reqs = append(reqs, reconcile.Request{NamespacedName: types.NamespacedName{Namespace: v.Namespace, Name: v.Name}})
	}
	return reqs
}

// availabilityChanged passes the PluginServer events that can change the
// readiness of its versions: creation, deletion, and a change of its
// Available condition.
func availabilityChanged() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return true },
		DeleteFunc: func(event.DeleteEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return availability(e.ObjectOld) != availability(e.ObjectNew)
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

// availability is a server's Available status and reason, "" for another object.
func availability(o client.Object) string {
	srv, ok := o.(*bkv1.PluginServer)
	if !ok {
		return ""
	}
	c := meta.FindStatusCondition(srv.Status.Conditions, bkv1.ConditionAvailable)
	if c == nil {
		return "none"
	}
	return string(c.Status) + "/" + c.Reason
}
