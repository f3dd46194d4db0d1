package shim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/history"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/internal/sensitive"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// This file is the direct synchronous path (--sync-invoke=direct): the
// shim makes the first execute of a synchronous invoke itself, with the
// manager's protocol, scrubbing and state machine (internal/pluginexec).
//
//   - SUCCESS or FAIL: the record the manager would archive
//     (history.Record, masked as status is) goes to the archive and is
//     answered; no PluginInvocation, Secret or event is written.
//   - POLL or CALLBACK: the PluginInvocation is created with that answer
//     in its status (create and status update: two writes; a Secret first
//     for sensitive inputs), marked AnnotationFirstExecute, and the
//     manager carries on from it without executing again.
//   - The archive cannot be written: as POLL, with the final status, and
//     the manager archives it: a result is never lost.
//   - The execute fails (transport, a broken answer): the call goes
//     through the cluster as it would have, and the manager's retries and
//     failure rules apply.
//   - The execute outlasts the invoke timeout: the PluginInvocation is
//     created without status (the handoff), the caller is answered as in
//     cluster mode, and the answer is recorded in it when it comes.
//
// Idempotency: a retry with the same trace id is answered from the archive
// or the cluster, both read before executing, and concurrent duplicates in
// one shim process wait for each other (keyedLocks). Two replicas that get
// the same trace id at the same instant can both execute; the second to
// write finds the first's record or PluginInvocation and answers that
// (docs/history.md, "Direct path"). A shim that dies after the plugin
// answered and before the archive write loses that answer: a retry of the
// call executes it again (at least once, as for a manager that dies after
// an execute).

// archivePutTimeout bounds the direct path's archive write; past it the
// result goes to the cluster instead.
const archivePutTimeout = 5 * time.Second

// Outcomes of an invoke's path, for the invoke_paths_total metric.
const (
	pathDirect         = "direct"
	pathDirectLive     = "direct_live"
	pathDirectFallback = "direct_fallback"
	pathHandoff        = "handoff"
	pathExecuteFailed  = "execute_failed"
)

// directExec is what the shim needs to execute plugins itself.
type directExec struct {
	mode     string
	caller   *pluginexec.Caller
	callback pluginexec.CallbackOptions
	limits   pluginexec.Limits
	// clusterDomain and resolveService locate plugin pods.
	clusterDomain  string
	resolveService func(namespace, name string, port int32) string
	// locks coalesce concurrent invokes with the same trace id.
	locks *keyedLocks
	// afterExecute, when set, runs between a plugin's answer and its
	// recording (Options.AfterDirectExecute).
	afterExecute func(traceID string) error
	// afterCreate, when set, runs between the create of a POLL or CALLBACK
	// call's PluginInvocation and the write of its first answer
	// (Options.AfterDirectCreate).
	afterCreate func(traceID string) error
}

// directInvoke is an invoke the direct path runs: the call, its version and
// what invoke made of its inputs.
type directInvoke struct {
	call invokeCall
	plv  *bkv1.PluginVersion
	// inv is the PluginInvocation the cluster path would create.
	inv *bkv1.PluginInvocation
	// secretInputs are the sensitive inputs (a JSON object), nil for none.
	secretInputs json.RawMessage
	// sensitiveNames are the version's sensitive input fields.
	sensitiveNames []string
}

// invokeDirect runs a synchronous invoke on the direct path.
func (s *invocations) invokeDirect(ctx context.Context, d directInvoke) (invokeOutcome, error) {
	if d.call.CallerTraceID {
		// A trace id the shim made up names nothing yet; one the caller
		// chose may be a retry, answered from where the first attempt
		// left its result, and never executed twice by this process.
		unlock := s.direct.locks.lock(s.namespace + "/" + d.call.TraceID)
		defer unlock()
		if rec, err := s.invokeArchived(ctx, d.call, d.inv.Spec.Inputs.Raw, d.sensitiveNames); err != nil || rec != nil {
			return invokeOutcome{Archived: rec}, err
		}
		existing := &bkv1.PluginInvocation{}
		switch err := s.kube.Get(ctx, client.ObjectKeyFromObject(d.inv), existing); {
		case err == nil:
			return s.invokeCluster(ctx, d.call, d.inv, d.secretInputs)
		case !apierrors.IsNotFound(err):
			return invokeOutcome{}, kubeErr(err, "read invocation %s", d.call.TraceID)
		}
	}
	compiled, err := s.compiled.Get(d.plv)
	if err != nil {
		// The manager ends it FAIL InvalidVersion, as it always has.
		return s.invokeCluster(ctx, d.call, d.inv, d.secretInputs)
	}
	secretMap, err := objectFields(d.secretInputs)
	if err != nil {
		return invokeOutcome{}, err
	}
	inputs, err := sensitive.MergeInputs(d.inv.Spec.Inputs.Raw, secretMap)
	if err != nil {
		return invokeOutcome{}, errorf(http.StatusBadRequest, "invalid request body: %v", err)
	}
	start := s.now()
	base := d.inv.DeepCopy()
	base.CreationTimestamp = metav1.NewTime(start)
	base.Generation = 1
	binding, err := randomBinding()
	if err != nil {
		return invokeOutcome{}, err
	}
	// The trace annotations invoke set stay: a POLL or CALLBACK call's
	// invocation carries the trace to the manager, as on the cluster path.
	base.Annotations = maps.Clone(d.inv.Annotations)
	if base.Annotations == nil {
		base.Annotations = map[string]string{}
	}
	base.Annotations[bkv1.AnnotationCallbackBinding] = binding
	r := &directRun{d: d, base: base, start: start, secretMap: secretMap, compiled: compiled, done: make(chan struct{})}

	// Inputs the version refuses end the call FAIL before any execute, as
	// the manager ends them.
	if err := compiled.ValidateInputs(inputs, d.inv.Spec.Context.Raw); err != nil {
		st := pluginexec.Failed(bkv1.PluginInvocationStatus{}, bkv1.ReasonInvalidInputs, err.Error(), start)
		return s.finishTerminal(ctx, r, pluginexec.Finalize(st, d.call.TraceID, d.plv.Spec.Version, base.Generation, start), nil, nil)
	}
	baseURL, err := versions.EndpointURL(d.plv, s.direct.clusterDomain, s.direct.resolveService)
	if err != nil {
		// The manager ends it FAIL Unreachable, naming the version.
		return s.invokeCluster(ctx, d.call, d.inv, d.secretInputs)
	}
	req := pluginexec.NewRequest(base, d.plv.Spec.Version, d.call.TraceID, nil, s.direct.callback)
	req.Inputs = inputs

	// The execute outlives the request: once the plugin has been called,
	// its answer is recorded whether or not the caller still waits.
	go s.runDirect(context.WithoutCancel(ctx), r, baseURL, req)
	timer := time.NewTimer(s.timeout)
	defer timer.Stop()
	select {
	case <-r.done:
		return r.out, r.err
	case <-ctx.Done():
		return invokeOutcome{}, fmt.Errorf("invoke %s: %w", d.call.TraceID, ctx.Err())
	case <-timer.C:
		return s.handOff(ctx, r)
	}
}

// directRun is one direct first execute in flight.
type directRun struct {
	d         directInvoke
	base      *bkv1.PluginInvocation
	start     time.Time
	secretMap map[string]json.RawMessage
	compiled  *versions.Compiled

	mu sync.Mutex
	// finishing is set once the execute's outcome is being recorded for
	// the waiting request; handedOff once the request gave up waiting and
	// created cr instead.
	finishing, handedOff bool
	cr                   *bkv1.PluginInvocation
	// out and err are the outcome; done is closed when they are set.
	out  invokeOutcome
	err  error
	done chan struct{}
}

// runDirect makes the execute and records its answer: for the waiting
// request, or in the PluginInvocation handOff created.
func (s *invocations) runDirect(ctx context.Context, r *directRun, baseURL string, req *protocol.ExecuteRequest) {
	answer, callErr := s.direct.caller.Execute(ctx, baseURL, req, pluginexec.Timeout(r.d.plv.Spec.TimeoutSeconds))
	if callErr == nil && s.direct.afterExecute != nil {
		if err := s.direct.afterExecute(r.d.call.TraceID); err != nil {
			// As if the shim died here: nothing is recorded.
			r.mu.Lock()
			r.finishing = true
			r.mu.Unlock()
			r.out, r.err = invokeOutcome{}, err
			close(r.done)
			return
		}
	}
	r.mu.Lock()
	if r.handedOff {
		cr := r.cr
		r.mu.Unlock()
		if cr != nil && callErr == nil {
			s.recordLate(ctx, r, cr, answer)
		}
		// Without an answer the manager executes once the shim's hold
		// (AnnotationFirstExecute) passes.
		return
	}
	r.finishing = true
	r.mu.Unlock()
	r.out, r.err = s.finishExecute(ctx, r, answer, callErr)
	close(r.done)
}

// handOff answers a request whose first execute outlasted the invoke
// timeout as cluster mode would: with a PluginInvocation that has not
// executed yet. The shim keeps it until the execute ends (and its
// timeout passes); runDirect records the answer there.
func (s *invocations) handOff(ctx context.Context, r *directRun) (invokeOutcome, error) {
	r.mu.Lock()
	if r.finishing {
		r.mu.Unlock()
		<-r.done
		return r.out, r.err
	}
	r.handedOff = true
	hold := r.start.Add(pluginexec.Timeout(r.d.plv.Spec.TimeoutSeconds))
	cr, err := s.createFirst(ctx, r, hold)
	r.cr = cr
	r.mu.Unlock()
	if err != nil {
		return invokeOutcome{}, err
	}
	s.metrics.paths.WithLabelValues(pathHandoff).Inc()
	s.metrics.waits.WithLabelValues(waitTimeout).Inc()
	return invokeOutcome{Invocation: cr, TimedOut: !executed(cr)}, nil
}

// finishExecute records the first execute's answer for the waiting request.
func (s *invocations) finishExecute(ctx context.Context, r *directRun, answer *protocol.ExecuteResponse, callErr error) (invokeOutcome, error) {
	if callErr != nil {
		// Retries and failure reasons are the manager's: the call goes
		// through the cluster. A call that timed out may have reached the
		// plugin; the manager's next attempt is then the at-least-once
		// case it has for its own executes.
		s.metrics.paths.WithLabelValues(pathExecuteFailed).Inc()
		return s.invokeCluster(ctx, r.d.call, r.d.inv, r.d.secretInputs)
	}
	st, clear, secretOutputs, err := s.applyFirst(r, answer)
	if err != nil {
		s.metrics.paths.WithLabelValues(pathExecuteFailed).Inc()
		return s.invokeCluster(ctx, r.d.call, r.d.inv, r.d.secretInputs)
	}
	if st.State.Terminal() {
		return s.finishTerminal(ctx, r, st, clear, secretOutputs)
	}
	cr, err := s.createFirst(ctx, r, s.now().Add(bkv1.FirstExecuteGraceSeconds*time.Second))
	if err != nil {
		return invokeOutcome{}, err
	}
	if s.direct.afterCreate != nil {
		if err := s.direct.afterCreate(r.d.call.TraceID); err != nil {
			// As if the shim died here: the invocation exists without
			// its first answer, and the manager executes it once the
			// hold passes (at least once).
			return invokeOutcome{}, err
		}
	}
	if cr.Status.InvokeCount == 0 {
		if cr, err = s.recordFirst(ctx, cr, st, secretOutputs); err != nil {
			return invokeOutcome{}, err
		}
	}
	s.metrics.paths.WithLabelValues(pathDirectLive).Inc()
	s.metrics.waits.WithLabelValues(waitExecuted).Inc()
	return invokeOutcome{Invocation: cr}, nil
}

// applyFirst turns the first execute's answer into the status the manager
// would write: masked and scrubbed (pluginexec.MaskAnswer), through the
// state machine (pluginexec.Apply), with the fields every write records
// (pluginexec.Finalize). clear are the outputs in clear, for the caller.
func (s *invocations) applyFirst(r *directRun, answer *protocol.ExecuteResponse) (st bkv1.PluginInvocationStatus, clear json.RawMessage, secretOutputs map[string]json.RawMessage, err error) {
	clear = append(json.RawMessage(nil), answer.Outputs...)
	secretOutputs, err = pluginexec.MaskAnswer(answer, r.secretMap, r.compiled.SensitiveOutputs)
	if err != nil {
		return st, nil, nil, err
	}
	a := pluginexec.Apply(&r.base.Status, answer, "", 0, s.now(), s.direct.limits)
	st = a.Status
	started := metav1.NewTime(r.start)
	st.StartTime = &started
	return pluginexec.Finalize(st, r.d.call.TraceID, r.d.plv.Spec.Version, r.base.Generation, r.start), clear, secretOutputs, nil
}

// finishTerminal archives a call that ended on its first execute and
// answers it; when the archive cannot take it, the call goes to the
// cluster with its final status, for the manager to archive.
func (s *invocations) finishTerminal(ctx context.Context, r *directRun, st bkv1.PluginInvocationStatus, clear json.RawMessage, secretOutputs map[string]json.RawMessage) (invokeOutcome, error) {
	inv := r.base.DeepCopy()
	inv.Status = st
	secretNames := make([]string, 0, len(r.secretMap))
	for k := range r.secretMap {
		secretNames = append(secretNames, k)
	}
	slices.Sort(secretNames)
	rec, err := history.Record(inv, history.Masking{Inputs: r.compiled.SensitiveInputs, SecretInputs: secretNames, Outputs: r.compiled.SensitiveOutputs})
	if err == nil {
		pctx, cancel := context.WithTimeout(ctx, archivePutTimeout)
		err = s.past.get().Put(pctx, rec)
		cancel()
	}
	if err != nil {
		s.logger.Info("cannot archive a call answered at once; it goes to the cluster, for the manager to archive",
			"trace_id", r.d.call.TraceID, "error", err.Error())
		cr, cerr := s.createFirst(ctx, r, s.now().Add(bkv1.FirstExecuteGraceSeconds*time.Second))
		if cerr != nil {
			return invokeOutcome{}, cerr
		}
		if cr.Status.InvokeCount == 0 && !cr.Status.State.Terminal() {
			if cr, cerr = s.recordFirst(ctx, cr, st, secretOutputs); cerr != nil {
				return invokeOutcome{}, cerr
			}
		}
		s.metrics.paths.WithLabelValues(pathDirectFallback).Inc()
		s.metrics.waits.WithLabelValues(waitExecuted).Inc()
		return invokeOutcome{Invocation: cr}, nil
	}
	s.metrics.paths.WithLabelValues(pathDirect).Inc()
	s.metrics.waits.WithLabelValues(waitExecuted).Inc()
	out := invokeOutcome{Invocation: inv}
	if st.State != bkv1.StateFail && st.InvokeCount > 0 {
		// The caller owns the call: it gets the sensitive outputs in
		// clear, as the cluster path reveals them from the Secret.
		out.ClearOutputs = nonEmptyOutputs(clear)
	}
	return out, nil
}

// createFirst creates the PluginInvocation of a direct call (its Secret
// first, for sensitive inputs), marked as the shim's until hold. A
// PluginInvocation of the same call already there (another replica raced
// this one) is returned as it is; one of another call is 409.
func (s *invocations) createFirst(ctx context.Context, r *directRun, hold time.Time) (*bkv1.PluginInvocation, error) {
	inv := r.d.inv.DeepCopy()
	// The trace annotations (tracing.InjectAnnotations in invoke) and the
	// callback binding of the first execute, plus the shim's hold.
	inv.Annotations = maps.Clone(r.base.Annotations)
	inv.Annotations[bkv1.AnnotationFirstExecute] = hold.UTC().Format(time.RFC3339)
	var created *corev1.Secret
	if r.d.secretInputs != nil {
		var err error
		if created, err = s.createSensitiveSecret(ctx, r.d.call.TraceID, r.d.call.Code, r.d.secretInputs); err != nil {
			return nil, err
		}
	}
	err := s.kube.Create(ctx, inv)
	if err == nil {
		return inv, nil
	}
	if !apierrors.IsAlreadyExists(err) {
		return nil, kubeErr(err, "create invocation %s", r.d.call.TraceID)
	}
	existing := &bkv1.PluginInvocation{}
	if err := s.kube.Get(ctx, client.ObjectKeyFromObject(inv), existing); err != nil {
		return nil, kubeErr(err, "read existing invocation %s", r.d.call.TraceID)
	}
	if err := sameCall(existing, inv); err != nil {
		s.deleteOwnSecret(ctx, created)
		return nil, err
	}
	return existing, nil
}

// recordFirst writes the first execute's status into cr (sensitive outputs
// first go to its Secret, as the manager stores them). A conflict with a
// metadata change (a callback arriving) is written over the fresh object;
// a status someone else wrote first (the manager, once the shim's hold
// passed) wins.
func (s *invocations) recordFirst(ctx context.Context, cr *bkv1.PluginInvocation, st bkv1.PluginInvocationStatus, secretOutputs map[string]json.RawMessage) (*bkv1.PluginInvocation, error) {
	if len(secretOutputs) > 0 {
		sv, err := sensitive.Load(ctx, s.kube, cr)
		if err != nil {
			return nil, kubeErr(err, "read the Secret of invocation %s", cr.Name)
		}
		if err := sensitive.StoreOutputs(ctx, s.kube, cr, sv, secretOutputs); err != nil {
			return nil, kubeErr(err, "store the sensitive outputs of invocation %s", cr.Name)
		}
	}
	obj := cr.DeepCopy()
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if obj.Status.InvokeCount > 0 || obj.Status.State.Terminal() {
			return nil
		}
		obj.Status = st
		err := s.kube.Status().Update(ctx, obj)
		if apierrors.IsConflict(err) {
			fresh := &bkv1.PluginInvocation{}
			if gerr := s.kube.Get(ctx, client.ObjectKeyFromObject(obj), fresh); gerr != nil {
				return gerr
			}
			obj = fresh
		}
		return err
	})
	if err != nil {
		return nil, kubeErr(err, "record the first execute of invocation %s", cr.Name)
	}
	return obj, nil
}

// recordLate records an answer that came after the request was handed
// off.
func (s *invocations) recordLate(ctx context.Context, r *directRun, cr *bkv1.PluginInvocation, answer *protocol.ExecuteResponse) {
	st, _, secretOutputs, err := s.applyFirst(r, answer)
	if err == nil {
		_, err = s.recordFirst(ctx, cr, st, secretOutputs)
	}
	if err != nil {
		s.logger.Info("cannot record a first execute that outlasted the invoke timeout; the manager executes it again once the shim's hold passes",
			"trace_id", r.d.call.TraceID, "error", err.Error())
	}
}

// objectFields splits a JSON object into its fields; nil for none.
func objectFields(obj json.RawMessage) (map[string]json.RawMessage, error) {
	if len(obj) == 0 {
		return nil, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, fmt.Errorf("sensitive inputs: %w", err)
	}
	return m, nil
}

// randomBinding is a fresh AnnotationCallbackBinding value.
func randomBinding() (string, error) {
	b := make([]byte, 16)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("callback binding: %w", err)
	}
	return hex.EncodeToString(b), nil
}
