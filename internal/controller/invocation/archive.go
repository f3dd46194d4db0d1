package invocation

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/history"
	"github.com/bkplugin/bk-plugin-operator/internal/sensitive"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
)

// Bounds that keep a hung or busy archive from holding the reconciler's
// workers, which live invocations need (see archiveGate).
const (
	// archiveTimeout bounds one Put.
	archiveTimeout = 10 * time.Second
	// archivePause is how long the gate stays shut after a failed Put.
	archivePause = 2 * time.Second
	// archiveBusyRetry is when to try again when every Put slot is taken.
	archiveBusyRetry = 100 * time.Millisecond
	// archiveBusy names the outcome "not tried: every slot taken".
	archiveBusy = "busy"
)

// archive writes a finished invocation to the history archive and returns
// what applyArchive decides of the outcome. The record is masked as status
// is (history.Record), with the sensitive fields the version's task.json
// names and the inputs the invocation's Secret holds. The error is for
// what is neither the archive's outcome nor the invocation's: reading the
// Secret failed.
func (r *Reconciler) archive(ctx context.Context, inv *bkv1.PluginInvocation, now time.Time) (archiveOutcome, error) {
	m, err := r.masking(ctx, inv)
	if err != nil {
		return archiveOutcome{}, err
	}
	rec, err := history.Record(inv, m)
	var putErr error
	if err != nil {
		putErr = fmt.Errorf("%w: %v", archive.ErrInvalid, err)
	} else {
		switch r.archiveGate.enter(r.Clock.Now()) {
		case gateBusy:
			r.Metrics.archiveBusy()
			return archiveOutcome{retryAfter: archiveBusyRetry, kind: archiveBusy}, nil
		case gateShut:
			putErr = fmt.Errorf("%w: a write failed a moment ago; not tried", archive.ErrUnavailable)
		case gateOpen:
			pctx, cancel := context.WithTimeout(ctx, archiveTimeout)
			putErr = r.Options.Archive.Put(pctx, rec)
			cancel()
			r.archiveGate.leave(r.Clock.Now(), putErr != nil && !errors.Is(putErr, archive.ErrInvalid))
		}
	}
	out := applyArchive(inv, putErr, now)
	r.Metrics.archiveAttempt(client.ObjectKeyFromObject(inv), out.kind)
	if putErr != nil && out.write {
		logf.FromContext(ctx).Info("cannot archive the finished invocation; it stays in the cluster", "outcome", out.kind, "error", putErr.Error())
	}
	return out, nil
}

// archivedWith archives inv as it will be once st is written, and returns
// st with the archive's mark, so that ending (or recording the finish
// notification) and archiving cost one status write, not two. It is called
// for a fresh answer that ends the invocation (write) and after a finish
// notification (whose answer status already holds). Crash-safe: the
// archive is an upsert, so a status write that fails and is redone
// archives again over the same row; and a manager killed after the Put and
// before the write leaves a status that still asks for the execute, which
// the next process adopts from the archive instead of executing again
// (adopt.go). When planFinished says not to archive yet (a finish
// notification is due first) or the Put is not done (it failed, the gate
// is busy or shut), st comes back unchanged: the answer is written alone
// and reconcileFinished archives it after the write, recording the
// archive's failure as it does.
func (r *Reconciler) archivedWith(ctx context.Context, inv *bkv1.PluginInvocation, st bkv1.PluginInvocationStatus, now time.Time) bkv1.PluginInvocationStatus {
	next := inv.DeepCopy()
	next.Status = st
	if !planFinished(next, now, r.Options.KeepFinished).archive {
		return st
	}
	out, err := r.archive(ctx, next, now)
	if err != nil || out.kind != archiveOK {
		return st
	}
	return out.status
}

// masking gathers what history.Record masks: the sensitive fields of the
// invocation's version, when it is still known, and the inputs its Secret
// holds. The Secret is read (around the cache) only when the version
// marks inputs sensitive or is gone, and adopted, so that it is deleted
// with the invocation.
func (r *Reconciler) masking(ctx context.Context, inv *bkv1.PluginInvocation) (history.Masking, error) {
	var m history.Masking
	compiled, known := r.compiledVersion(ctx, inv)
	if known {
		m.Inputs, m.Outputs = compiled.SensitiveInputs, compiled.SensitiveOutputs
		if len(m.Inputs)+len(m.Outputs) == 0 {
			return m, nil
		}
	}
	sv, err := sensitive.Load(ctx, r.APIReader, inv)
	if err != nil {
		return m, err
	}
	for k := range sv.Inputs {
		m.SecretInputs = append(m.SecretInputs, k)
	}
	slices.Sort(m.SecretInputs)
	if err := sensitive.Adopt(ctx, r.Client, inv, sv); err != nil {
		logf.FromContext(ctx).Info("could not adopt the invocation's Secret; it will be retried", "error", err.Error())
	}
	return m, nil
}

// compiledVersion finds the compiled version the invocation resolved to,
// if it is still registered.
func (r *Reconciler) compiledVersion(ctx context.Context, inv *bkv1.PluginInvocation) (*versions.Compiled, bool) {
	if inv.Status.ResolvedVersion == "" {
		return nil, false
	}
	var list bkv1.PluginVersionList
	if err := r.listVersions(ctx, &list, inv); err != nil {
		return nil, false
	}
	for i := range list.Items {
		if plv := &list.Items[i]; plv.Spec.Version == inv.Status.ResolvedVersion {
			compiled, err := r.schemas.Get(plv)
			return compiled, err == nil
		}
	}
	return nil, false
}
