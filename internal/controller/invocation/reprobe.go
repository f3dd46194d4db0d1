package invocation

import (
	"context"
	"errors"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// needsReprobe decides (pure) whether a failed execute should make the
// PluginVersion reconciler probe the version now: only when the pod gave no
// answer at all (an answer, even a 5xx, proves the endpoint lives), the
// version still says Ready (one already not Ready is being probed with
// backoff) and the call was not cut by this reconcile's own end (the
// manager stopping says nothing about the pod).
func needsReprobe(err error, versionReady, cancelled bool) bool {
	if err == nil || cancelled || !versionReady {
		return false
	}
	var ce *callError
	return errors.As(err, &ce) && ce.Unanswered
}

// reprobeAfter asks for plv to be probed now when needsReprobe says so, so
// that a dead plugin pod turns its version's Ready False within seconds
// instead of at the next scheduled probe.
func (r *Reconciler) reprobeAfter(ctx context.Context, plv *bkv1.PluginVersion, err error, now time.Time) {
	if r.Options.Reprobe == nil {
		return
	}
	ready := meta.IsStatusConditionTrue(plv.Status.Conditions, bkv1.ConditionReady)
	if !needsReprobe(err, ready, ctx.Err() != nil) {
		return
	}
	if r.Options.Reprobe.Request(plv, now) {
		logf.FromContext(ctx).Info("the plugin pod did not answer; probing its PluginVersion now", "pluginVersion", plv.Name)
	}
}
