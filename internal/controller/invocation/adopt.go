package invocation

import (
	"context"
	"errors"
	"fmt"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
)

// adoptArchived runs before an execute of inv. A terminal answer is
// archived before its status is written (write), so an earlier manager
// process killed between the two left the answer in the archive and a
// status that still asks for the execute. When inv may be such an
// invocation (needsArchiveCheck) and the archive holds its end
// (adoptable), that end is written to status in one write, without
// archiving it again and without executing: adopted is true and res and
// err are the reconcile's. An archive that cannot be read is logged and
// the execute goes ahead, the documented at-least-once case of a manager
// crash after an execute.
func (r *Reconciler) adoptArchived(ctx context.Context, inv *bkv1.PluginInvocation, traceID string, now time.Time) (res reconcile.Result, adopted bool, err error) {
	key := client.ObjectKeyFromObject(inv)
	if !needsArchiveCheck(r.written.has(key, inv.UID), inv.CreationTimestamp.Time, r.Options.ProcessStart) {
		return reconcile.Result{}, false, nil
	}
	log := logf.FromContext(ctx)
	akey := archive.Key{Namespace: inv.Namespace, TraceID: traceID}
	actx, cancel := context.WithTimeout(ctx, archiveTimeout)
	defer cancel()
	rec, err := r.Options.Archive.Get(actx, akey)
	switch {
	case errors.Is(err, archive.ErrNotFound):
		r.written.mark(key, inv.UID)
		return reconcile.Result{}, false, nil
	case err != nil:
		log.Info("cannot read the archive before executing an invocation created before this manager started, "+
			"which an earlier manager may have finished; executing it (at least once)", "error", err.Error())
		return reconcile.Result{}, false, nil
	}
	if ok, why := adoptable(inv, &rec); !ok {
		log.V(1).Info("the archive holds no end of this invocation; executing", "why", why)
		r.written.mark(key, inv.UID)
		return reconcile.Result{}, false, nil
	}
	// The row's log lines, which status keeps until the invocation is
	// deleted: as many as status keeps, plus the line for dropped ones.
	var lines []string
	page, err := r.Options.Archive.Logs(actx, akey, 0, min(r.Options.LogLimits.MaxLines+1, archive.MaxLogLimit))
	if err != nil {
		log.Info("cannot read the archived log lines of the invocation being adopted; status keeps none (the archive has them)", "error", err.Error())
	} else {
		lines = page.Lines
	}
	st := adoptedStatus(inv, &rec, lines)
	st.ObservedGeneration = inv.Generation
	written, err := r.persistStatus(ctx, inv, st)
	if err != nil {
		return reconcile.Result{}, true, fmt.Errorf("record the archived end of invocation %s: %w", key, err)
	}
	log.Info("adopted the archived end of an invocation an earlier manager process executed and archived but did not record; not executing it again",
		"state", st.State, "invokeCount", st.InvokeCount)
	r.unwritten.forget(key)
	r.polls.forget(key)
	r.Metrics.archivePending(key, false)
	if err := r.patchMetadata(ctx, written, written.Spec.Plugin, st.ResolvedVersion, nil); err != nil {
		return reconcile.Result{}, true, err
	}
	if enteredState(&inv.Status, &st) {
		r.Metrics.transition(written.Spec.Plugin, string(st.State))
	}
	// A failure is for an operator to notice, whichever process saw it.
	if ev, ok := transitionEvent(&inv.Status, &st); ok {
		r.emit(written, ev, "Execute")
	}
	res, err = r.reconcileFinished(ctx, written, now)
	return res, true, err
}
