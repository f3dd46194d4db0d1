package invocation

import (
	"encoding/json"
	"slices"
	"strings"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// pendingCallbacks reads the callbacks the shim recorded as annotations and
// returns those not delivered yet, in the order they arrived, and the
// annotations that can be removed (already delivered, or unreadable).
func pendingCallbacks(inv *bkv1.PluginInvocation) (pending []pendingCallback, stale []string) {
	for key, value := range inv.Annotations {
		id, ok := strings.CutPrefix(key, bkv1.CallbackAnnotationPrefix)
		if !ok {
			continue
		}
		if slices.Contains(inv.Status.DeliveredCallbacks, id) {
			// Delivered and recorded in status, but the manager stopped
			// before it removed the annotation.
			stale = append(stale, key)
			continue
		}
		var a bkv1.CallbackAnnotation
		if err := json.Unmarshal([]byte(value), &a); err != nil {
			// The shim writes these; one that does not decode was not
			// written by it, and delivering it would hand the plugin junk.
			stale = append(stale, key)
			continue
		}
		pending = append(pending, pendingCallback{ID: id, Annotation: key, Data: a.Data, ReceivedAt: a.ReceivedAt.Time})
	}
	slices.SortFunc(pending, func(a, b pendingCallback) int {
		if c := a.ReceivedAt.Compare(b.ReceivedAt); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	slices.Sort(stale)
	return pending, stale
}
