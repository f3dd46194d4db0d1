package invocation

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/event"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/canary"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/internal/retire"
	"github.com/bkplugin/bk-plugin-operator/internal/sensitive"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// cacheLagGrace is how long a new invocation whose plugin version is not in
// the cache yet waits for it before failing: a version created a moment
// before the invocation may not have reached the informer.
const cacheLagGrace = 5 * time.Second

// Reconciler runs PluginInvocations: it resolves the
// version, calls the plugin pod and records the answer in status, which is
// where all of an invocation's state lives.
type Reconciler struct {
	client.Client
	// Recorder records the events an operator must notice (transitionEvent),
	// within the per-plugin bound of Options.EventsPerMinute.
	Recorder events.EventRecorder
	// Options configures the reconciler; zero values take defaults.
	Options Options
	// Metrics, when set, records Prometheus metrics.
	Metrics *Metrics
	// Clock tells the time; nil means the real clock.
	Clock clock.PassiveClock
	// APIReader reads around the cache, to resolve write conflicts against
	// the object as it is; nil means the manager's.
	APIReader client.Reader
	// Random returns a number in [0,1) for the jitter of retry backoffs;
	// nil means math/rand/v2. Tests inject a fixed source.
	Random func() float64

	caller *pluginexec.Caller
	expect *writeExpectations
	// unwritten keeps answers whose status write failed, to write them
	// again without another execute.
	unwritten *unwrittenAnswers
	// written holds the invocations this process wrote the status of or
	// found nothing of in the archive; the others, when created before it
	// started, have their archive read before an execute (adopt.go).
	written *writtenHere
	polls   *pollSchedule
	schemas *versions.Cache
	// archiveGate bounds the Puts in flight and pauses them after a failure.
	archiveGate *archiveGate
	// events bounds the events recorded per plugin.
	events *eventLimiter
	// gates hold the in-memory half of the versions' limits
	// (limits_gate.go); wakeups carries invocations a freed execute slot
	// wakes to the controller.
	gates   *versionGates
	wakeups chan event.GenericEvent
}

// +kubebuilder:rbac:groups=bkplugin.io,resources=plugininvocations,verbs=get;list;watch;patch;delete
// +kubebuilder:rbac:groups=bkplugin.io,resources=plugininvocations/status,verbs=update
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginversions,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get;create;update;patch

// Reconcile moves one invocation forward.
func (r *Reconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	// 1. Load the invocation.
	inv := &bkv1.PluginInvocation{}
	if err := r.Get(ctx, req.NamespacedName, inv); err != nil {
		if apierrors.IsNotFound(err) {
			r.expect.forget(req.NamespacedName)
			r.polls.forget(req.NamespacedName)
			r.unwritten.forget(req.NamespacedName)
			r.written.forget(req.NamespacedName)
			r.gates.forget(req.NamespacedName)
			r.Metrics.archivePending(req.NamespacedName, false)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("get invocation %s: %w", req.NamespacedName, err)
	}
	if !inv.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	// 2. Never act on a cached copy older than our own last write: it would
	// execute the plugin again for an invoke count already done.
	if r.expect.stale(req.NamespacedName, inv.UID, &inv.Status) {
		return reconcile.Result{RequeueAfter: 20 * time.Millisecond}, nil
	}
	traceID := invocationTraceID(inv)
	ctx = logf.IntoContext(ctx, logf.FromContext(ctx).WithValues("trace_id", traceID, "plugin", inv.Spec.Plugin))
	ctx, span := r.startReconcileSpan(ctx, inv, traceID)
	defer span.End()
	now := r.Clock.Now()

	// An answer the plugin already gave, whose write failed, is written
	// now rather than asked for again.
	if a, ok := r.unwritten.take(req.NamespacedName, &inv.Status); ok {
		return r.write(ctx, inv, a.traceID, a.version, a.t, a.at)
	}

	// 3. A finished invocation only has its notification and TTL left.
	if inv.Status.State.Terminal() {
		return r.reconcileFinished(ctx, inv, now)
	}

	// 4. Resolve the version, once, and keep it in status.
	choice := r.resolve(ctx, inv, now)
	if choice.wait > 0 {
		return reconcile.Result{RequeueAfter: choice.wait}, nil
	}
	if f := choice.failure; f != nil {
		return r.write(ctx, inv, traceID, "", applyFailure(inv, f.reason, f.message, now), now)
	}
	plv := choice.plv

	// 5. Decide what to do now.
	pending, stale := pendingCallbacks(inv)
	s := planStep(r.withPollDue(inv), pending, now)
	switch s.kind {
	case stepWait:
		if len(stale) > 0 {
			if err := r.patchMetadata(ctx, inv, "", "", stale); err != nil {
				return reconcile.Result{}, err
			}
		}
		return reconcile.Result{RequeueAfter: s.requeueAfter}, nil
	case stepFail:
		if reason, tell := cancelReasonOf(s, inv); tell {
			r.tellPluginCancelled(ctx, inv, plv, traceID, reason)
		}
		t := r.retryAttempt(inv, plv, applyFailure(inv, s.reason, s.message, now), now)
		return r.write(ctx, inv, traceID, plv.Spec.Version, t, now)
	}

	// 5a. An execute an earlier manager process made, archived and died
	// before recording is adopted from the archive, not made again.
	if res, adopted, err := r.adoptArchived(ctx, inv, traceID, now); adopted {
		return res, err
	}

	// 5b. The version's limits: a slot of its active invocations, an
	// execute slot and a token; what is not free defers the execute.
	g := r.gate(ctx, inv, plv, traceID, now)
	if !g.proceed {
		return g.result, g.err
	}
	defer g.release()
	inv = g.inv

	// 6. Gather what the execute needs: the version's compiled schemas
	// and, when it marks fields sensitive, the invocation's Secret, where
	// sensitive inputs only ever live.
	compiled, err := r.schemas.Get(plv)
	if err != nil {
		return r.write(ctx, inv, traceID, plv.Spec.Version, applyFailure(inv, bkv1.ReasonInvalidVersion, err.Error(), now), now)
	}
	sv, err := r.gatherSensitive(ctx, inv, compiled)
	if f := secretFailure(err); f != nil {
		return r.write(ctx, inv, traceID, plv.Spec.Version, applyFailure(inv, f.reason, f.message, now), now)
	}
	if err != nil {
		return reconcile.Result{}, err
	}

	// 7. Decide the inputs, checked before the first execute.
	inputs, f := prepareInputs(inv, compiled, sv.Inputs)
	if f != nil {
		return r.write(ctx, inv, traceID, plv.Spec.Version, applyFailure(inv, f.reason, f.message, now), now)
	}

	// 8. Call the plugin pod and apply its answer.
	t, err := r.execute(ctx, inv, plv, traceID, s, pending, now, executeInputs{inputs: inputs, sensitive: sv, sensitiveOutputs: compiled.SensitiveOutputs})
	// The execute slot is free once the pod answered, before the write.
	g.release()
	if err != nil {
		return reconcile.Result{}, err
	}
	return r.write(ctx, inv, traceID, plv.Spec.Version, r.retryAttempt(inv, plv, t, r.Clock.Now()), now)
}

// gatherSensitive reads the invocation's Secret when its version marks
// fields sensitive and, once sensitive.Load verified it was made for this
// invocation, makes the invocation its owner.
func (r *Reconciler) gatherSensitive(ctx context.Context, inv *bkv1.PluginInvocation, compiled *versions.Compiled) (sensitive.Values, error) {
	if len(compiled.SensitiveInputs)+len(compiled.SensitiveOutputs) == 0 {
		return sensitive.Values{}, nil
	}
	sv, err := sensitive.Load(ctx, r.APIReader, inv)
	if err != nil {
		return sv, err
	}
	if err := sensitive.Adopt(ctx, r.Client, inv, sv); err != nil {
		logf.FromContext(ctx).Info("could not adopt the invocation's Secret; it will be retried", "error", err.Error())
	}
	return sv, nil
}

// withPollDue returns inv with its next poll at the earliest time it may
// execute (pollNotBefore), for planStep: status keeps nextPollTime in whole
// seconds, and reading that as the due time polled up to a second early.
func (r *Reconciler) withPollDue(inv *bkv1.PluginInvocation) *bkv1.PluginInvocation {
	if inv.Status.State != bkv1.StatePoll || inv.Status.NextPollTime == nil {
		return inv
	}
	recorded := inv.Status.NextPollTime.Time
	exact, known := r.polls.exact(client.ObjectKeyFromObject(inv), recorded)
	c := *inv
	due := metav1.NewTime(pollNotBefore(recorded, exact, known))
	c.Status.NextPollTime = &due
	return &c
}

// resolve gathers the plugin's versions from the cache and lets
// chooseVersion pick the one the invocation runs.
func (r *Reconciler) resolve(ctx context.Context, inv *bkv1.PluginInvocation, now time.Time) versionChoice {
	var list bkv1.PluginVersionList
	if err := r.listVersions(ctx, &list, inv); err != nil {
		// The cache cannot fail a list but for a missing index: a bug, not the invocation's fault.
		logf.FromContext(ctx).Error(err, "cannot list the plugin's versions; retrying")
		return versionChoice{wait: time.Second}
	}
	return chooseVersion(list.Items, inv, now)
}

// listVersions lists the plugin's versions in inv's namespace from the
// cache without deep-copying them: every reconcile resolves the version,
// and copying each version's schemas and task.json for it was the largest
// allocation of a reconcile. The objects are the cache's own; nothing
// here writes to a PluginVersion (chooseVersion, the execute request, the
// compiled schemas and the archive's masking only read them).
func (r *Reconciler) listVersions(ctx context.Context, list *bkv1.PluginVersionList, inv *bkv1.PluginInvocation) error {
	return r.List(ctx, list, client.InNamespace(inv.Namespace),
		client.MatchingFields{versions.IndexPluginVersionPlugin: inv.Spec.Plugin}, client.UnsafeDisableDeepCopy)
}

// executeInputs are the inputs of one execute and the sensitive values
// to keep out of status.
type executeInputs struct {
	inputs           []byte
	sensitive        sensitive.Values
	sensitiveOutputs []string
}

// execute calls the plugin pod for step s and returns the transition its
// answer (or failure to answer) makes.
func (r *Reconciler) execute(ctx context.Context, inv *bkv1.PluginInvocation, plv *bkv1.PluginVersion,
	traceID string, s step, pending []pendingCallback, now time.Time, in executeInputs) (transition, error) {
	baseURL, err := versions.EndpointURL(plv, r.Options.ClusterDomain, r.Options.ResolveService)
	if err != nil {
		return applyFailure(inv, bkv1.ReasonUnreachable, fmt.Sprintf("PluginVersion %s: %v", plv.Name, err), now), nil
	}
	if inv.Status.State == bkv1.StatePoll && inv.Status.NextPollTime != nil {
		due := r.polls.dueTime(client.ObjectKeyFromObject(inv), inv.Status.NextPollTime.Time)
		r.Metrics.pollLateness(now.Sub(due).Seconds())
	}
	req := buildExecuteRequest(inv, plv, traceID, s.callback, r.Options)
	req.Inputs = in.inputs
	timeout := pluginexec.Timeout(plv.Spec.TimeoutSeconds)
	start := time.Now()
	ctx, span := r.startExecuteSpan(ctx, inv, plv)
	answer, err := r.caller.Execute(ctx, baseURL, req, timeout)
	if err != nil {
		r.reprobeAfter(ctx, plv, err, now)
		// A pod's error answer may quote its inputs: scrub it before it is
		// traced, logged, bounded or written.
		err = pluginexec.Scrubbed(err, in.sensitive.Inputs)
		endExecuteSpan(span, nil, err)
		r.Metrics.execute(inv.Spec.Plugin, "error", time.Since(start).Seconds())
		if retryable(err) {
			r.Metrics.retry(inv.Spec.Plugin)
			logf.FromContext(ctx).Info("execute failed, will retry", "error", err.Error(), "attempt", inv.Status.RetryCount+1)
		}
		return applyExecuteError(inv, err, now, r.retryPolicy()), nil
	}
	endExecuteSpan(span, answer, nil)
	r.Metrics.execute(inv.Spec.Plugin, answer.State.String(), time.Since(start).Seconds())
	secretOutputs, err := pluginexec.MaskAnswer(answer, in.sensitive.Inputs, in.sensitiveOutputs)
	if err != nil {
		return transition{}, fmt.Errorf("invocation %s: %w", inv.Name, err)
	}
	if len(secretOutputs) > 0 {
		if err := sensitive.StoreOutputs(ctx, r.Client, inv, in.sensitive, secretOutputs); err != nil {
			return transition{}, err
		}
	}
	rest := pending
	if s.callback != nil && len(rest) > 0 {
		rest = rest[1:]
	}
	// The poll interval runs from the end of this execute, not its start:
	// a slow execute must not eat into the plugin's wait.
	return applyAnswer(inv, answer, s.callback, rest, r.Clock.Now(), r.transitionLimits()), nil
}

// write persists transition t's status through persistStatus, the one
// writer of invocation status, then does what follows a written status:
// labels, removing the consumed callback annotations, the event, and the
// requeue. What to write, what to do if it is refused and when to look again
// are decided by the pure functions of invocation_decisions.go.
func (r *Reconciler) write(ctx context.Context, inv *bkv1.PluginInvocation, traceID, version string, t transition, now time.Time) (reconcile.Result, error) {
	key := client.ObjectKeyFromObject(inv)
	st := finalStatus(inv, traceID, version, t, now)
	if st.State.Terminal() && !inv.Status.State.Terminal() {
		// An answer that ends the invocation is archived first and written
		// with the archive's mark in one status write (archivedWith), unless
		// a finish notification is due first or the Put fails, when the
		// answer is written alone and reconcileFinished archives it later.
		// Archiving first opens a window, Put done and status not written,
		// in which a manager killed would once have executed again on restart
		// (the reliability harness saw 9 of 50): the next process reads the
		// archive before executing an invocation it has not written and
		// adopts the archived end instead (adopt.go).
		st = r.archivedWith(ctx, inv, st, now)
	}
	due := pollDue(&st)

	written, err := r.persistStatus(ctx, inv, st)
	if err != nil {
		if fb, ok := tooLargeFallback(inv, t, err, now); ok {
			return r.write(ctx, inv, traceID, version, fb, now)
		}
		if keepUnwritten(t, err) {
			r.unwritten.keep(key, unwrittenAnswer{baseCount: inv.Status.InvokeCount, baseState: inv.Status.State, baseAttempt: inv.Status.Attempt,
				traceID: traceID, version: version, t: t, at: now})
		}
		return reconcile.Result{}, fmt.Errorf("update status of invocation %s: %w", key, err)
	}
	r.unwritten.forget(key)
	if st.State.Terminal() && !inv.Status.State.Terminal() && st.ResolvedVersion != "" {
		// The canary's counters: each invocation ends once, here.
		r.Options.Outcomes.Record(canary.Key{Namespace: inv.Namespace, Plugin: inv.Spec.Plugin, Version: st.ResolvedVersion},
			st.State == bkv1.StateFail, now)
	}
	if !due.IsZero() {
		r.polls.set(key, due)
	} else {
		r.polls.forget(key)
	}

	// Labels and consumed callbacks: the status write above is what counts
	// (a callback recorded as delivered is never delivered again), so this
	// patch may fail and be redone by a later reconcile.
	consumed := consumedCallbacks(written.Annotations, st.DeliveredCallbacks)
	if err := r.patchMetadata(ctx, written, written.Spec.Plugin, st.ResolvedVersion, consumed); err != nil {
		return reconcile.Result{}, err
	}
	if enteredState(&inv.Status, &st) {
		r.Metrics.transition(written.Spec.Plugin, string(st.State))
	}
	if t.retried != nil {
		// A retried attempt is for an operator to notice, as a failure is.
		r.emit(written, retryEvent(&st, t.retried), "Retry")
	} else if ev, ok := transitionEvent(&inv.Status, &st); ok {
		r.emit(written, ev, "Execute")
	}
	return reconcile.Result{RequeueAfter: requeueAfterWrite(&st, t, due, r.Clock.Now())}, nil
}

// persistStatus is the one writer of invocation status: it writes st over
// inv's status with optimistic concurrency and returns the object as
// written. A conflict caused by a metadata change (a callback annotation
// arriving) is resolved by writing st over the fresh object, since it must
// not cost the execute st records; a conflict with another status write is
// an error, and that write wins. A refusal for size comes back as a
// statusTooLargeError.
func (r *Reconciler) persistStatus(ctx context.Context, inv *bkv1.PluginInvocation, st bkv1.PluginInvocationStatus) (*bkv1.PluginInvocation, error) {
	key := client.ObjectKeyFromObject(inv)
	base := &inv.Status
	obj := inv.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj.Status = st
		err := r.Status().Update(ctx, obj)
		if !apierrors.IsConflict(err) {
			return err
		}
		fresh := &bkv1.PluginInvocation{}
		if gerr := r.APIReader.Get(ctx, key, fresh); gerr != nil {
			return gerr
		}
		if fresh.Status.InvokeCount != base.InvokeCount || fresh.Status.State != base.State || fresh.Status.Attempt != base.Attempt {
			return fmt.Errorf("status of %s was changed by another writer: %w", key, err)
		}
		obj = fresh
		return err
	})
	if err != nil {
		return nil, classifyStatusWriteError(err)
	}
	r.expect.wrote(key, obj.UID, &st)
	r.written.mark(key, obj.UID)
	return obj, nil
}

// patchMetadata sets the plugin and version labels and removes annotations.
// A JSON merge patch touches only those keys, so it is safe against a
// callback annotation being added at the same time.
func (r *Reconciler) patchMetadata(ctx context.Context, inv *bkv1.PluginInvocation, plugin, version string, remove []string) error {
	labels := map[string]any{}
	if plugin != "" && inv.Labels[bkv1.LabelPlugin] != plugin {
		labels[bkv1.LabelPlugin] = plugin
	}
	if version != "" && inv.Labels[bkv1.LabelVersion] != version {
		labels[bkv1.LabelVersion] = version
	}
	annotations := map[string]any{}
	for _, k := range remove {
		annotations[k] = nil
	}
	if len(labels) == 0 && len(annotations) == 0 {
		return nil
	}
	meta := map[string]any{}
	if len(labels) > 0 {
		meta["labels"] = labels
	}
	if len(annotations) > 0 {
		meta["annotations"] = annotations
	}
	patch, err := json.Marshal(map[string]any{"metadata": meta})
	if err != nil {
		return err
	}
	if err := r.Patch(ctx, inv, client.RawPatch(types.MergePatchType, patch)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("patch metadata of invocation %s/%s: %w", inv.Namespace, inv.Name, err)
	}
	return nil
}

// emit records ev about inv, when the invocation's plugin has not used up
// its event budget (eventLimiter); an event over budget is counted instead.
func (r *Reconciler) emit(inv *bkv1.PluginInvocation, ev invocationEvent, action string) {
	if r.Recorder == nil {
		return
	}
	if !r.events.allow(inv.Spec.Plugin, r.Clock.Now()) {
		r.Metrics.eventSuppressed(inv.Spec.Plugin)
		return
	}
	r.Recorder.Eventf(inv, nil, ev.eventType, ev.reason, action, "%s", ev.note)
}

// retryAttempt lets the invocation's retry policy (retry.go) decide what
// the end of an attempt does: another attempt after a backoff, or the end
// recorded in status.attempts.
func (r *Reconciler) retryAttempt(inv *bkv1.PluginInvocation, plv *bkv1.PluginVersion, t transition, now time.Time) transition {
	policy := effectiveRetryPolicy(inv, plv)
	if policy == nil || !t.status.State.Terminal() {
		return t
	}
	random := rand.Float64
	if r.Random != nil {
		random = r.Random
	}
	return applyRetry(inv, t, policy, now, random())
}

// transitionLimits are the bounds applyAnswer keeps, from the options.
func (r *Reconciler) transitionLimits() transitionLimits {
	o := &r.Options
	return transitionLimits{maxStatusBytes: o.MaxStatusBytes, logs: o.LogLimits, maxCallbacksPerAnswer: o.MaxCallbacksPerAnswer,
		maxPreparedCallbacks: o.MaxPreparedCallbacks, minPoll: o.MinPollInterval, maxPoll: o.MaxPollInterval}
}

// retryPolicy is the backoff of retried calls, from the options.
func (r *Reconciler) retryPolicy() retryPolicy {
	return retryPolicy{budget: r.Options.RetryBudget, initial: r.Options.RetryInitialInterval, maxWait: r.Options.RetryMaxInterval}
}

// SetupWithManager registers the reconciler with mgr.
func (r *Reconciler) SetupWithManager(mgr manager.Manager) error {
	if r.Options.Archive == nil {
		return errors.New("the invocation reconciler needs a history archive (Options.Archive): finished invocations are archived before they are deleted")
	}
	r.applyDefaults()
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return builder.ControllerManagedBy(mgr).
		For(&bkv1.PluginInvocation{}, builder.WithPredicates(predicate.Or(
			// Status writes are the reconciler's own and it requeues itself
			// after them; only spec changes (cancel) and callback
			// annotations come from outside.
			// The exception is the shim recording a first execute it made
			// (the direct path), which this reconciler carries on from.
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}, shimRecordedPredicate()))).
		// A finished invocation frees a slot of its version's
		// maxActiveInvocations: wake the waiting ones next in line.
		Watches(&bkv1.PluginInvocation{}, handler.EnqueueRequestsFromMapFunc(r.wakeQueued),
			builder.WithPredicates(retire.Finished())).
		// A freed execute slot wakes the execute deferred first.
		WatchesRawSource(source.Channel(r.wakeups, &handler.EnqueueRequestForObject{})).
		WithOptions(controller.Options{
			MaxConcurrentReconciles: r.Options.MaxConcurrentReconciles,
			// Fair across plugins: one plugin's flood neither fills the
			// queue ahead of the others nor holds every worker.
			NewQueue: r.newQueue(mgr.GetCache()),
		}).
		Named("plugininvocation").
		Complete(r)
}

// shimRecordedPredicate passes the updates firstExecuteRecorded names and
// nothing else.
func shimRecordedPredicate() predicate.Funcs {
	return predicate.Funcs{
		CreateFunc:  func(event.CreateEvent) bool { return false },
		DeleteFunc:  func(event.DeleteEvent) bool { return false },
		GenericFunc: func(event.GenericEvent) bool { return false },
		UpdateFunc: func(e event.UpdateEvent) bool {
			before, ok1 := e.ObjectOld.(*bkv1.PluginInvocation)
			after, ok2 := e.ObjectNew.(*bkv1.PluginInvocation)
			return ok1 && ok2 && firstExecuteRecorded(before, after)
		},
	}
}

// applyDefaults fills in unset options and the reconciler's internals.
func (r *Reconciler) applyDefaults() {
	o := &r.Options
	if o.HTTPClient == nil {
		o.HTTPClient = pluginexec.NewPooledHTTPClient()
	}
	// Executes carry the reconcile's trace to the plugin pod.
	o.HTTPClient = o.Tracing.Client(pluginexec.WithoutRedirects(o.HTTPClient))
	if o.ClusterDomain == "" {
		o.ClusterDomain = versions.DefaultClusterDomain
	}
	if o.KeepFinished == 0 {
		o.KeepFinished = DefaultKeepFinished
	}
	o.LogLimits = o.LogLimits.WithDefaults()
	if o.RetryBudget == 0 {
		o.RetryBudget = 2 * time.Minute
	}
	if o.RetryInitialInterval == 0 {
		o.RetryInitialInterval = time.Second
	}
	if o.RetryMaxInterval == 0 {
		o.RetryMaxInterval = 30 * time.Second
	}
	if o.MaxStatusBytes == 0 {
		o.MaxStatusBytes = DefaultMaxStatusBytes
	}
	if o.CallbackTokenTTL <= 0 {
		o.CallbackTokenTTL = protocol.DefaultCallbackTokenTTL
	}
	if o.MinPollInterval == 0 {
		o.MinPollInterval = DefaultMinPollInterval
	}
	if o.MaxPollInterval == 0 {
		o.MaxPollInterval = DefaultMaxPollInterval
	}
	if o.MaxCallbacksPerAnswer == 0 {
		o.MaxCallbacksPerAnswer = DefaultMaxCallbacksPerAnswer
	}
	if o.MaxPreparedCallbacks == 0 {
		o.MaxPreparedCallbacks = DefaultMaxPreparedCallbacks
	}
	if o.MaxConcurrentReconciles == 0 {
		o.MaxConcurrentReconciles = 16
	}
	if o.EventsPerMinute <= 0 {
		o.EventsPerMinute = DefaultEventsPerMinute
	}
	if o.EventBurst <= 0 {
		o.EventBurst = DefaultEventBurst
	}
	if o.MaxWorkersPerPlugin <= 0 {
		o.MaxWorkersPerPlugin = defaultMaxPerPlugin(o.MaxConcurrentReconciles)
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	r.wakeups = make(chan event.GenericEvent, wakeupBuffer)
	r.gates = newVersionGates(r.wakeExecute)
	r.caller = &pluginexec.Caller{HTTP: o.HTTPClient, MaxAnswerBytes: pluginexec.MaxAnswerBytesFor(o.MaxStatusBytes), Token: o.ExecuteToken}
	r.expect = newWriteExpectations()
	r.unwritten = newUnwrittenAnswers()
	r.written = newWrittenHere()
	if o.ProcessStart.IsZero() {
		o.ProcessStart = r.Clock.Now()
	}
	r.polls = newPollSchedule()
	r.schemas = versions.NewCache()
	r.events = newEventLimiter(o.EventsPerMinute, o.EventBurst)
	// A quarter of the workers may wait on the archive; the others keep
	// live invocations moving.
	r.archiveGate = newArchiveGate(max(o.MaxConcurrentReconciles/4, 1), archivePause)
}

// invocationTraceID is the invocation's trace id: its name when the name is
// one, else its UID without dashes, which is as unique and never changes.
func invocationTraceID(inv *bkv1.PluginInvocation) string {
	if inv.Status.TraceID != "" {
		return inv.Status.TraceID
	}
	if stdapi.ValidTraceID(inv.Name) {
		return inv.Name
	}
	return strings.ReplaceAll(string(inv.UID), "-", "")
}
