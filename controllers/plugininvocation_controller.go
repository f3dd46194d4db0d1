package controllers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/events"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	logf "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/sensitive"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// cacheLagGrace is how long a new invocation whose plugin version is not in
// the cache yet waits for it before failing: a version created a moment
// before the invocation may not have reached the informer.
const cacheLagGrace = 5 * time.Second

// PluginInvocationReconciler runs PluginInvocations: it resolves the
// version, calls the plugin pod and records the answer in status, which is
// where all of an invocation's state lives.
type PluginInvocationReconciler struct {
	client.Client
	// Recorder emits an event per transition.
	Recorder events.EventRecorder
	// Options configures the reconciler; zero values take defaults.
	Options InvocationOptions
	// Metrics, when set, records Prometheus metrics.
	Metrics *InvocationMetrics
	// Clock tells the time; nil means the real clock.
	Clock clock.PassiveClock
	// APIReader reads around the cache, to resolve write conflicts against
	// the object as it is; nil means the manager's.
	APIReader client.Reader

	caller *pluginCaller
	expect *writeExpectations
	// unwritten keeps answers whose status write failed, to write them
	// again without another execute.
	unwritten *unwrittenAnswers
	polls     *pollSchedule
	schemas   *versions.Cache
}

// +kubebuilder:rbac:groups=bkplugin.io,resources=plugininvocations,verbs=get;list;watch;patch;delete
// +kubebuilder:rbac:groups=bkplugin.io,resources=plugininvocations/status,verbs=update
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginversions,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=core,resources=secrets,verbs=get;create;update;patch

// Reconcile moves one invocation forward.
func (r *PluginInvocationReconciler) Reconcile(ctx context.Context, req reconcile.Request) (reconcile.Result, error) {
	// 1. Load the invocation.
	inv := &bkv1.PluginInvocation{}
	if err := r.Get(ctx, req.NamespacedName, inv); err != nil {
		if apierrors.IsNotFound(err) {
			r.expect.forget(req.NamespacedName)
			r.polls.forget(req.NamespacedName)
			r.unwritten.forget(req.NamespacedName)
			return reconcile.Result{}, nil
		}
		return reconcile.Result{}, fmt.Errorf("get invocation %s: %w", req.NamespacedName, err)
	}
	if !inv.DeletionTimestamp.IsZero() {
		return reconcile.Result{}, nil
	}
	// 2. Never act on a cached copy older than our own last write: it would
	// execute the plugin again for an invoke count already done.
	if r.expect.stale(req.NamespacedName, &inv.Status) {
		return reconcile.Result{RequeueAfter: 20 * time.Millisecond}, nil
	}
	traceID := invocationTraceID(inv)
	ctx = logf.IntoContext(ctx, logf.FromContext(ctx).WithValues("trace_id", traceID, "plugin", inv.Spec.Plugin))
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
	plv, failure, wait := r.resolve(ctx, inv, now)
	if wait > 0 {
		return reconcile.Result{RequeueAfter: wait}, nil
	}
	if failure != nil {
		return r.write(ctx, inv, traceID, "", applyFailure(inv, failure.reason, failure.message, now), now)
	}

	// 5. Decide what to do now.
	pending, stale := pendingCallbacks(inv)
	s := planStep(inv, pending, now)
	switch s.kind {
	case stepWait:
		if len(stale) > 0 {
			if err := r.patchMetadata(ctx, inv, "", "", stale); err != nil {
				return reconcile.Result{}, err
			}
		}
		return reconcile.Result{RequeueAfter: s.requeueAfter}, nil
	case stepFail:
		return r.write(ctx, inv, traceID, plv.Spec.Version, applyFailure(inv, s.reason, s.message, now), now)
	}

	// 6. Gather the inputs: spec.inputs and the sensitive ones, which
	// only ever live in the invocation's Secret.
	compiled, err := r.schemas.Get(plv)
	if err != nil {
		return r.write(ctx, inv, traceID, plv.Spec.Version, applyFailure(inv, bkv1.ReasonInvalidVersion, err.Error(), now), now)
	}
	var sv sensitive.Values
	if len(compiled.SensitiveInputs)+len(compiled.SensitiveOutputs) > 0 {
		if clear := sensitive.ClearInputs(raw(inv.Spec.Inputs), compiled.SensitiveInputs); len(clear) > 0 {
			msg := fmt.Sprintf("%ssensitive inputs must not be given in spec.inputs, where every reader sees them: %s; put them in key %q of Secret %s",
				schema.InputsErrorPrefix, strings.Join(clear, ", "), bkv1.SensitiveInputsKey, inv.SensitiveSecretName())
			return r.write(ctx, inv, traceID, plv.Spec.Version, applyFailure(inv, bkv1.ReasonInvalidInputs, msg, now), now)
		}
		if sv, err = sensitive.Load(ctx, r.APIReader, inv); err != nil {
			return reconcile.Result{}, err
		}
		if err := sensitive.Adopt(ctx, r.Client, inv, sv); err != nil {
			logf.FromContext(ctx).Info("could not adopt the invocation's Secret; it will be retried", "error", err.Error())
		}
	}
	inputs, err := sensitive.MergeInputs(raw(inv.Spec.Inputs), sv.Inputs)
	if err != nil {
		return r.write(ctx, inv, traceID, plv.Spec.Version, applyFailure(inv, bkv1.ReasonInvalidInputs, err.Error(), now), now)
	}

	// 7. Check the inputs before the first execute.
	if inv.Status.InvokeCount == 0 {
		if err := compiled.ValidateInputs(inputs, raw(inv.Spec.Context)); err != nil {
			return r.write(ctx, inv, traceID, plv.Spec.Version, applyFailure(inv, bkv1.ReasonInvalidInputs, err.Error(), now), now)
		}
	}

	// 8. Call the plugin pod and apply its answer.
	t, err := r.execute(ctx, inv, plv, traceID, s, pending, now, executeInputs{inputs: inputs, sensitive: sv, sensitiveOutputs: compiled.SensitiveOutputs})
	if err != nil {
		return reconcile.Result{}, err
	}
	return r.write(ctx, inv, traceID, plv.Spec.Version, t, now)
}

// failure is a reason to end an invocation FAIL before any execute.
type failure struct{ reason, message string }

// resolve finds the PluginVersion an invocation runs: the recorded one, or
// the one spec.version resolves to on the first reconcile.
func (r *PluginInvocationReconciler) resolve(ctx context.Context, inv *bkv1.PluginInvocation, now time.Time) (*bkv1.PluginVersion, *failure, time.Duration) {
	var list bkv1.PluginVersionList
	if err := r.List(ctx, &list, client.InNamespace(inv.Namespace), client.MatchingFields{versions.IndexPluginVersionPlugin: inv.Spec.Plugin}); err != nil {
		// The cache cannot fail a list but for a missing index: a bug, not the invocation's fault.
		return nil, nil, time.Second
	}
	if v := inv.Status.ResolvedVersion; v != "" {
		// An exact version resolves like any other, so that a duplicate
		// registration in Conflict is never the one called.
		plv, err := versions.ResolveVersion(list.Items, inv.Spec.Plugin, v)
		if err != nil {
			return nil, &failure{bkv1.ReasonVersionDeleted, fmt.Sprintf("PluginVersion %s %s was deleted while the invocation ran", inv.Spec.Plugin, v)}, 0
		}
		return plv, nil, 0
	}
	plv, err := versions.ResolveVersion(list.Items, inv.Spec.Plugin, inv.Spec.Version)
	if err != nil {
		if errors.Is(err, versions.ErrNoMatchingVersion) && now.Sub(inv.CreationTimestamp.Time) < cacheLagGrace {
			return nil, nil, 500 * time.Millisecond
		}
		return nil, &failure{bkv1.ReasonNoVersion, err.Error()}, 0
	}
	return plv, nil, 0
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
func (r *PluginInvocationReconciler) execute(ctx context.Context, inv *bkv1.PluginInvocation, plv *bkv1.PluginVersion,
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
	timeout := 30 * time.Second
	if plv.Spec.TimeoutSeconds != nil {
		timeout = time.Duration(*plv.Spec.TimeoutSeconds) * time.Second
	}
	start := time.Now()
	answer, err := r.caller.execute(ctx, baseURL, req, timeout)
	if err != nil {
		r.Metrics.execute(inv.Spec.Plugin, "error", time.Since(start).Seconds())
		var ce *callError
		if errors.As(err, &ce) && ce.Retryable {
			r.Metrics.retry(inv.Spec.Plugin)
			logf.FromContext(ctx).Info("execute failed, will retry", "error", err.Error(), "attempt", inv.Status.RetryCount+1)
			return applyCallError(inv, err, now, r.Options.RetryBudget, r.Options.RetryInitialInterval, r.Options.RetryMaxInterval), nil
		}
		reason := bkv1.ReasonProtocolError
		if strings.Contains(err.Error(), "storage too large") {
			reason = bkv1.ReasonStorageTooLarge
		}
		return applyFailure(inv, reason, err.Error(), now), nil
	}
	r.Metrics.execute(inv.Spec.Plugin, answer.State.String(), time.Since(start).Seconds())
	masked, secretOutputs, err := sensitive.SplitOutputs(answer.Outputs, in.sensitiveOutputs)
	if err != nil {
		return transition{}, fmt.Errorf("mask sensitive outputs of invocation %s: %w", inv.Name, err)
	}
	if len(secretOutputs) > 0 {
		if err := sensitive.StoreOutputs(ctx, r.Client, inv, in.sensitive, secretOutputs); err != nil {
			return transition{}, err
		}
	}
	answer.Outputs = masked
	answer.Error = sensitive.Scrub(answer.Error, in.sensitive.Inputs, secretOutputs)
	rest := pending
	if s.callback != nil && len(rest) > 0 {
		rest = rest[1:]
	}
	return applyAnswer(inv, answer, s.callback, rest, now, transitionLimits{maxStatusBytes: r.Options.MaxStatusBytes}), nil
}

// write stores a transition's status with optimistic concurrency, then
// labels the invocation and removes the callback annotations it consumed.
func (r *PluginInvocationReconciler) write(ctx context.Context, inv *bkv1.PluginInvocation, traceID, version string, t transition, now time.Time) (reconcile.Result, error) {
	key := client.ObjectKeyFromObject(inv)
	before := inv.Status.DeepCopy()
	st := t.status
	st.TraceID = traceID
	if version != "" {
		st.ResolvedVersion = version
	}
	if st.State == "" {
		st.State = bkv1.StateEmpty
	}
	if st.StartTime == nil {
		start := metav1.NewTime(now)
		st.StartTime = &start
	}
	st.ObservedGeneration = inv.Generation
	// The exact due time, before the write reads back the status with
	// whole seconds.
	var due time.Time
	if st.State == bkv1.StatePoll && st.NextPollTime != nil {
		due = st.NextPollTime.Time
	}

	obj := inv.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		obj.Status = st
		err := r.Status().Update(ctx, obj)
		if !apierrors.IsConflict(err) {
			return err
		}
		// The object changed under us. Metadata changes (a callback
		// annotation arriving) must not cost the execute we just made, so
		// the status is applied to the fresh object, unless another writer
		// moved the status itself, in which case its write wins.
		fresh := &bkv1.PluginInvocation{}
		if gerr := r.APIReader.Get(ctx, key, fresh); gerr != nil {
			return gerr
		}
		if fresh.Status.InvokeCount != before.InvokeCount || fresh.Status.State != before.State {
			return fmt.Errorf("status of %s was changed by another writer: %w", key, err)
		}
		obj = fresh
		return err
	})
	if err != nil {
		if (t.status.Outputs != nil || t.status.Storage != nil) &&
			(apierrors.IsRequestEntityTooLargeError(err) || strings.Contains(err.Error(), "too large")) {
			tooLarge := applyFailure(inv, bkv1.ReasonStorageTooLarge, "storage too large: the API server refused the invocation's status: "+err.Error(), now)
			tooLarge.status.Outputs, tooLarge.status.Storage = nil, nil
			return r.write(ctx, inv, traceID, version, tooLarge, now)
		}
		if t.executed && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			r.unwritten.keep(key, unwrittenAnswer{baseCount: before.InvokeCount, baseState: before.State,
				traceID: traceID, version: version, t: t, at: now})
		}
		return reconcile.Result{}, fmt.Errorf("update status of invocation %s: %w", key, err)
	}
	r.unwritten.forget(key)
	r.expect.wrote(key, &st)
	if !due.IsZero() {
		r.polls.set(key, due)
	} else {
		r.polls.forget(key)
	}
	inv = obj

	// Labels and consumed callbacks: the status write above is what counts
	// (a callback recorded as delivered is never delivered again), so this
	// patch may fail and be redone by a later reconcile.
	var consumed []string
	for _, id := range st.DeliveredCallbacks {
		if _, ok := inv.Annotations[bkv1.CallbackAnnotationPrefix+id]; ok {
			consumed = append(consumed, bkv1.CallbackAnnotationPrefix+id)
		}
	}
	if err := r.patchMetadata(ctx, inv, inv.Spec.Plugin, st.ResolvedVersion, consumed); err != nil {
		return reconcile.Result{}, err
	}
	r.recordTransition(inv, before, &st, t)

	switch {
	case st.State.Terminal():
		// Notification and TTL come next.
		return reconcile.Result{RequeueAfter: time.Millisecond}, nil
	case t.requeueNow:
		return reconcile.Result{RequeueAfter: time.Millisecond}, nil
	case !due.IsZero() && t.executed:
		// The interval runs from the execute, but the pod call and the
		// write took some of it: wake at the exact due time (status keeps
		// it in whole seconds), not an interval after the write.
		return reconcile.Result{RequeueAfter: max(due.Sub(r.Clock.Now()), time.Millisecond)}, nil
	default:
		return reconcile.Result{RequeueAfter: t.requeueAfter}, nil
	}
}

// patchMetadata sets the plugin and version labels and removes annotations.
// A JSON merge patch touches only those keys, so it is safe against a
// callback annotation being added at the same time.
func (r *PluginInvocationReconciler) patchMetadata(ctx context.Context, inv *bkv1.PluginInvocation, plugin, version string, remove []string) error {
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

// recordTransition emits an event and counts the state an invocation entered.
func (r *PluginInvocationReconciler) recordTransition(inv *bkv1.PluginInvocation, before, after *bkv1.PluginInvocationStatus, t transition) {
	if before.State == after.State && !t.executed && after.RetryCount == 0 {
		return
	}
	if before.State == bkv1.StatePoll && after.State == bkv1.StatePoll && after.RetryCount == 0 {
		// Another poll of a poller: an event per poll would double the
		// API writes of every poll (events of one object do not merge,
		// each names a new resourceVersion). Entering POLL and leaving it
		// are events; the polls between are counted in status.invokeCount
		// and the plugin's own log lines.
		return
	}
	eventType, reason, note := corev1.EventTypeNormal, "", ""
	switch after.State {
	case bkv1.StateSuccess:
		reason, note = bkv1.ReasonSucceeded, fmt.Sprintf("succeeded after %d executes", after.InvokeCount)
	case bkv1.StateFail:
		eventType, reason = corev1.EventTypeWarning, "Failed"
		note = fmt.Sprintf("failed after %d executes: %s", after.InvokeCount, truncate(after.Error, 512))
	case bkv1.StatePoll:
		reason, note = "Polling", fmt.Sprintf("execute %d: polling again at %s", after.InvokeCount, after.NextPollTime.UTC().Format(time.RFC3339))
	case bkv1.StateCallback:
		reason, note = "WaitingForCallback", fmt.Sprintf("execute %d: waiting for a callback", after.InvokeCount)
	default:
		if after.RetryCount > 0 {
			eventType, reason = corev1.EventTypeWarning, bkv1.ReasonRetrying
			note = fmt.Sprintf("calling the plugin pod failed %d times; retrying", after.RetryCount)
		} else {
			return
		}
	}
	if before.State != after.State {
		r.Metrics.transition(inv.Spec.Plugin, string(after.State))
	}
	if r.Recorder != nil {
		r.Recorder.Eventf(inv, nil, eventType, reason, "Execute", "%s", note)
	}
}

// SetupWithManager registers the reconciler with mgr.
func (r *PluginInvocationReconciler) SetupWithManager(mgr manager.Manager) error {
	r.applyDefaults()
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
	}
	return builder.ControllerManagedBy(mgr).
		For(&bkv1.PluginInvocation{}, builder.WithPredicates(predicate.Or(
			// Status writes are the reconciler's own and it requeues itself
			// after them; only spec changes (cancel) and callback
			// annotations come from outside.
			predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		WithOptions(controller.Options{MaxConcurrentReconciles: r.Options.MaxConcurrentReconciles}).
		Named("plugininvocation").
		Complete(r)
}

// applyDefaults fills in unset options and the reconciler's internals.
func (r *PluginInvocationReconciler) applyDefaults() {
	o := &r.Options
	if o.HTTPClient == nil {
		o.HTTPClient = newPooledHTTPClient()
	}
	if o.ClusterDomain == "" {
		o.ClusterDomain = versions.DefaultClusterDomain
	}
	if o.DefaultTTL == 0 {
		o.DefaultTTL = DefaultTTLAfterFinished
	}
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
	if o.MaxConcurrentReconciles == 0 {
		o.MaxConcurrentReconciles = 16
	}
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	r.caller = &pluginCaller{http: o.HTTPClient, maxAnswerBytes: int64(o.MaxStatusBytes)*2 + 64<<10}
	r.expect = newWriteExpectations()
	r.unwritten = newUnwrittenAnswers()
	r.polls = newPollSchedule()
	r.schemas = versions.NewCache()
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

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
