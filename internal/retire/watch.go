package retire

import (
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// Finished passes the invocation events that can release a held deletion:
// an invocation reaching SUCCESS or FAIL, or going away.
func Finished() predicate.Predicate {
	return predicate.Funcs{
		CreateFunc: func(event.CreateEvent) bool { return false },
		DeleteFunc: func(event.DeleteEvent) bool { return true },
		UpdateFunc: func(e event.UpdateEvent) bool {
			return liveKeyOf(e.ObjectOld) != "" && liveKeyOf(e.ObjectNew) == ""
		},
		GenericFunc: func(event.GenericEvent) bool { return false },
	}
}

func liveKeyOf(o any) string {
	inv, ok := o.(*bkv1.PluginInvocation)
	if !ok {
		return ""
	}
	return liveVersionKey(inv)
}
