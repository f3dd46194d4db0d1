package shim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"slices"
	"time"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/go-logr/logr"

	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
	"github.com/bkplugin/bk-plugin-operator/sdk/tracing"
)

// maxCallbackDataBytes bounds a callback's data: it travels as an annotation,
// and all of an object's annotations together must stay under 256 KiB.
const maxCallbackDataBytes = 128 << 10

// The callback answer's messages. The Python framework answers a callback it
// queued "callback success" (runtime/callback/api.py); a repeat of a
// recorded callback id is this shim's (Python queues it again).
const (
	callbackRecorded    = "callback success"
	callbackRepeated    = "callback already received"
	invalidCallbackBody = "invalid request body"
)

// invocations is the invocation service: every standard API call that
// touches a PluginInvocation goes through it.
type invocations struct {
	// kube writes, and reads what the cache has not seen yet.
	kube client.Client
	// cache reads, from the shared informers.
	cache     client.Reader
	namespace string
	versions  *versionService
	compiled  *versions.Cache
	waiters   *waiters
	// past reads finished invocations that have left the cluster.
	past    *readThrough
	metrics *metrics
	timeout time.Duration
	// keys are the callback keys accepted now, current first (a Ring
	// following the key file, or fixed keys).
	keys callbackkey.Verifier
	// maxTokenTTL bounds how far ahead a callback token may expire
	// (protocol.Binding.MaxTTL).
	maxTokenTTL time.Duration
	now         func() time.Time
	// direct makes the first execute of synchronous invokes
	// (--sync-invoke=direct, direct.go).
	direct *directExec
	logger logr.Logger
}

// invokeCall is one invoke of the standard API.
type invokeCall struct {
	Code    string
	Version string
	TraceID string
	Request stdapi.InvokeRequest
	Caller  bkv1.Caller
	Async   bool
	// CallerTraceID is set when the caller named the trace id
	// (X-Bkplugin-Trace-Id), so that it may name a finished invocation.
	CallerTraceID bool
}

// invokeOutcome is the invocation an invoke answers with.
type invokeOutcome struct {
	Invocation *bkv1.PluginInvocation
	// Archived is set instead of Invocation when the trace id names an
	// archived invocation of the same call: its result is the answer.
	Archived *archive.Record
	// TimedOut is set when the first execute had not finished in time.
	TimedOut bool
	// ClearOutputs, when set, are the outputs to answer in place of the
	// invocation's masked ones: a call answered on the direct path has no
	// Secret to reveal them from.
	ClearOutputs json.RawMessage
}

// invoke runs call: on the direct path (direct.go) when needsCluster lets
// it, else through the cluster (invokeCluster).
func (s *invocations) invoke(ctx context.Context, call invokeCall) (invokeOutcome, error) {
	plv, err := s.versions.resolveFor(ctx, call.Code, call.Version, call.TraceID)
	if err != nil {
		return invokeOutcome{}, err
	}
	if err := checkScope(plv.Spec.AllowScopes, call.Caller.AppCode, call.Caller.ScopeType, call.Caller.ScopeValue); err != nil {
		return invokeOutcome{}, err
	}
	notification, err := pluginCallbackInfo(plv, call.Request.Context)
	if err != nil {
		return invokeOutcome{}, err
	}
	// The task.json rules are checked here, before anything is created,
	// and again by the manager, so that no caller can bypass them.
	sensitiveInputs, err := s.checkTask(plv, call.Request.Inputs)
	if err != nil {
		return invokeOutcome{}, err
	}
	inputs, secretInputs, err := splitSensitiveInputs(call.Request.Inputs, sensitiveInputs)
	if err != nil {
		return invokeOutcome{}, err
	}
	inv := &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{
			Name:      call.TraceID,
			Namespace: s.namespace,
			// Both labels now, so that the manager need not patch them
			// after its first write: one API write fewer per invoke. It
			// corrects the version label should it resolve another.
			Labels: map[string]string{bkv1.LabelPlugin: call.Code, bkv1.LabelVersion: plv.Spec.Version},
		},
		Spec: bkv1.PluginInvocationSpec{
			Plugin:  call.Code,
			Version: call.Version,
			Inputs:  &apiextensionsv1.JSON{Raw: inputs},
			Context: &apiextensionsv1.JSON{Raw: call.Request.Context},
			// In the finish-callback mode, from context.plugin_callback_info.
			FinishNotification: notification,
			// The invoke body's timeout extension.
			ActiveDeadlineSeconds: call.Request.Timeout,
			// The invoke body's retry extension (retry.go).
			Retry: retryPolicyOf(call.Request.Retry),
		},
	}
	if call.Request.Priority != nil {
		// The invoke body's priority extension (docs/api.md).
		inv.Spec.Priority = *call.Request.Priority
	}
	if call.Caller != (bkv1.Caller{}) {
		caller := call.Caller
		inv.Spec.Caller = &caller
	}
	// The manager's reconciles continue the invoke's trace.
	annotations := map[string]string{}
	tracing.InjectAnnotations(ctx, annotations)
	if len(annotations) > 0 {
		inv.Annotations = annotations // the direct path's CR keeps them too (direct.go)
	}
	cluster, why := needsCluster(directChoice{Mode: s.direct.mode, Async: call.Async, Notification: notification,
		Deadline: call.Request.Timeout != nil, Retry: mayRetry(call.Request.Retry, plv), Archive: s.past.configured(), Version: plv})
	if !cluster {
		return s.invokeDirect(ctx, directInvoke{call: call, plv: plv, inv: inv, secretInputs: secretInputs, sensitiveNames: sensitiveInputs})
	}
	s.metrics.paths.WithLabelValues("cluster_" + why).Inc()
	// A retry of a call that finished and left the cluster answers its
	// archived result and never runs again (readthrough.go).
	if rec, err := s.invokeArchived(ctx, call, inputs, sensitiveInputs); err != nil || rec != nil {
		return invokeOutcome{Archived: rec}, err
	}
	return s.invokeCluster(ctx, call, inv, secretInputs)
}

// invokeCluster creates the invocation of call (or finds the one a retry
// of the same call created) and waits for the manager's first execute
// unless call is async.
func (s *invocations) invokeCluster(ctx context.Context, call invokeCall, inv *bkv1.PluginInvocation, secretInputs json.RawMessage) (invokeOutcome, error) {
	inv = inv.DeepCopy()
	// The waiter goes first: the manager may finish the first execute before
	// Create returns, and that update must reach this request.
	w, unregister := s.waiters.add(call.TraceID)
	defer unregister()

	// The Secret is written only for a call known to be new or a retry of
	// the same call: a trace id that names another call gets 409 with
	// nothing written, and one that a racing call takes in between has
	// its Secret (if this call made it) removed below.
	var createdSecret *corev1.Secret
	if secretInputs != nil {
		existing := &bkv1.PluginInvocation{}
		switch err := s.kube.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: call.TraceID}, existing); {
		case err == nil:
			if err := sameCall(existing, inv); err != nil {
				return invokeOutcome{}, err
			}
		case !apierrors.IsNotFound(err):
			return invokeOutcome{}, kubeErr(err, "read invocation %s", call.TraceID)
		}
		var err error
		if createdSecret, err = s.createSensitiveSecret(ctx, call.TraceID, call.Code, secretInputs); err != nil {
			return invokeOutcome{}, err
		}
	}
	cur := inv
	if err := s.kube.Create(ctx, inv); err != nil {
		if !apierrors.IsAlreadyExists(err) {
			return invokeOutcome{}, kubeErr(err, "create invocation %s", call.TraceID)
		}
		existing := &bkv1.PluginInvocation{}
		if err := s.kube.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: call.TraceID}, existing); err != nil {
			return invokeOutcome{}, kubeErr(err, "read existing invocation %s", call.TraceID)
		}
		if err := sameCall(existing, inv); err != nil {
			s.deleteOwnSecret(ctx, createdSecret)
			return invokeOutcome{}, err
		}
		cur = existing
	}

	if call.Async {
		s.metrics.waits.WithLabelValues(waitAsync).Inc()
		return invokeOutcome{Invocation: cur}, nil
	}
	waitCtx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	got, err := w.wait(waitCtx, cur, executed)
	switch {
	case err == nil:
		s.metrics.waits.WithLabelValues(waitExecuted).Inc()
		return invokeOutcome{Invocation: got}, nil
	case errors.As(err, &errGone{}):
		s.metrics.waits.WithLabelValues(waitGone).Inc()
		return invokeOutcome{}, errorf(http.StatusGone, "invocation %s was deleted before its first execute finished", call.TraceID)
	case ctx.Err() != nil:
		s.metrics.waits.WithLabelValues(waitAborted).Inc()
		return invokeOutcome{}, fmt.Errorf("wait for invocation %s: %w", call.TraceID, ctx.Err())
	default:
		s.metrics.waits.WithLabelValues(waitTimeout).Inc()
		return invokeOutcome{Invocation: got, TimedOut: true}, nil
	}
}

// executed reports whether the first execute has finished: the state has
// left EMPTY (the manager may also end an invocation FAIL without executing
// it, for inputs that fail the schema), or the first attempt failed and a
// retry is scheduled (the answer is then POLL: the caller polls schedule).
func executed(inv *bkv1.PluginInvocation) bool {
	if inv.Status.Attempt > 1 {
		return true
	}
	switch inv.Status.State {
	case bkv1.StatePoll, bkv1.StateCallback, bkv1.StateSuccess, bkv1.StateFail:
		return true
	}
	return false
}

// sameCall tells a retry of an invoke (same trace id, same call: answer the
// invocation it created) from a trace id reused for another call (409).
func sameCall(existing, want *bkv1.PluginInvocation) error {
	e, w := existing.Spec, want.Spec
	switch {
	case e.Plugin != w.Plugin || e.Version != w.Version:
		return errorf(http.StatusConflict, "trace id %s already names an invocation of plugin %s version %s, not of plugin %s version %s",
			existing.Name, e.Plugin, e.Version, w.Plugin, w.Version)
	case !sameJSON(e.Inputs, w.Inputs):
		return errorf(http.StatusConflict, "trace id %s already names an invocation of plugin %s with other inputs", existing.Name, e.Plugin)
	case !sameJSON(e.Context, w.Context):
		return errorf(http.StatusConflict, "trace id %s already names an invocation of plugin %s with another context", existing.Name, e.Plugin)
	}
	return nil
}

// sameJSON compares two JSON documents by value: the API server does not keep
// key order or spacing.
func sameJSON(a, b *apiextensionsv1.JSON) bool {
	var va, vb any
	if a != nil && len(a.Raw) > 0 {
		if json.Unmarshal(a.Raw, &va) != nil {
			return false
		}
	}
	if b != nil && len(b.Raw) > 0 {
		if json.Unmarshal(b.Raw, &vb) != nil {
			return false
		}
	}
	if va == nil {
		va = map[string]any{}
	}
	if vb == nil {
		vb = map[string]any{}
	}
	return reflect.DeepEqual(va, vb)
}

// get returns the invocation named traceID of plugin code ("" for any
// plugin). The cache answers first; an invocation created a moment ago may
// not be there yet, so a miss is checked live before it is a 404.
func (s *invocations) get(ctx context.Context, code, traceID string) (*bkv1.PluginInvocation, error) {
	if !stdapi.ValidTraceID(traceID) {
		return nil, errorf(http.StatusNotFound, "no invocation with trace id %s: a trace id is %d lowercase hex characters", traceID, stdapi.TraceIDLength)
	}
	key := client.ObjectKey{Namespace: s.namespace, Name: traceID}
	inv := &bkv1.PluginInvocation{}
	err := s.cache.Get(ctx, key, inv)
	if apierrors.IsNotFound(err) {
		err = s.kube.Get(ctx, key, inv)
	}
	switch {
	case apierrors.IsNotFound(err):
		return nil, errorf(http.StatusNotFound, "no invocation with trace id %s", traceID)
	case err != nil:
		return nil, kubeErr(err, "read invocation %s", traceID)
	case code != "" && inv.Spec.Plugin != code:
		return nil, errorf(http.StatusNotFound, "no invocation with trace id %s of plugin %s", traceID, code)
	}
	return inv, nil
}

// callbackBinding is what a callback token must match: inv's trace id and
// UID, and the callbacks its plugin prepared.
func (s *invocations) callbackBinding(inv *bkv1.PluginInvocation) protocol.Binding {
	return protocol.Binding{TraceID: inv.Name, UID: inv.CallbackBindingID(), Prepared: inv.Status.PreparedCallbacks, MaxTTL: s.maxTokenTTL}
}

// callback verifies a callback token and records the callback as an
// annotation for the manager to deliver. It returns the message to answer.
func (s *invocations) callback(ctx context.Context, code, token string, body []byte) (string, error) {
	keys := s.keys.Accepted()
	if len(keys) == 0 {
		return "", errorf(http.StatusServiceUnavailable, "callbacks are disabled: the shim has no callback key")
	}
	// The token names its invocation; it is verified against that
	// invocation as it is (UID, prepared callbacks), so it is looked up
	// first. Nothing but the trace id is read before verification.
	traceID, err := protocol.TokenTraceID(token)
	if err != nil {
		return "", errorf(http.StatusBadRequest, "%v", err)
	}
	data, err := callbackData(body)
	if err != nil {
		return "", err
	}
	// Read live unless finished, as schedule does (getFresh): a callback
	// must never be judged on an older state than schedule answered.
	inv, err := s.getFresh(ctx, "", traceID)
	if err != nil {
		return "", callbackLookupError(err, traceID)
	}
	claims, err := protocol.VerifyBoundToken(token, s.now(), s.callbackBinding(inv), keys...)
	if errors.Is(err, protocol.ErrCallbackNotPrepared) {
		// The cache may not show the execute that prepared it yet.
		live := &bkv1.PluginInvocation{}
		if gerr := s.kube.Get(ctx, client.ObjectKeyFromObject(inv), live); gerr == nil {
			inv = live
			claims, err = protocol.VerifyBoundToken(token, s.now(), s.callbackBinding(inv), keys...)
		}
	}
	if err != nil {
		return "", errorf(http.StatusBadRequest, "%v", err)
	}
	key := bkv1.CallbackAnnotationPrefix + claims.CallbackID
	value, err := json.Marshal(bkv1.CallbackAnnotation{Data: data, ReceivedAt: metav1.NewMicroTime(s.now())})
	if err != nil {
		return "", fmt.Errorf("encode callback annotation: %w", err)
	}
	// The checks below are made on a copy that may be stale (the cache), so
	// the patch carries that copy's resourceVersion: if the invocation
	// changed since, the API server refuses the patch and the checks are
	// made again on the live object. A retried callback is thus always told
	// it was already received, and a finished invocation never gets one.
	var message string
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		switch {
		case inv.Spec.Plugin != code:
			return errorf(http.StatusBadRequest, "callback token belongs to an invocation of plugin %s, not %s", inv.Spec.Plugin, code)
		case inv.Status.State.Terminal():
			return errorf(http.StatusBadRequest, "invocation %s has finished (%s)", inv.Name, inv.Status.State)
		}
		if _, pending := inv.Annotations[key]; pending || slices.Contains(inv.Status.DeliveredCallbacks, claims.CallbackID) {
			// The manager delivers each callback id once; a third party
			// that retries is told it got through.
			message = callbackRepeated
			return nil
		}
		patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
			"resourceVersion": inv.ResourceVersion,
			"annotations":     map[string]string{key: string(value)},
		}})
		if err != nil {
			return fmt.Errorf("encode callback patch: %w", err)
		}
		target := &bkv1.PluginInvocation{ObjectMeta: metav1.ObjectMeta{Namespace: s.namespace, Name: inv.Name}}
		err = s.kube.Patch(ctx, target, client.RawPatch(types.MergePatchType, patch))
		if apierrors.IsConflict(err) {
			live := &bkv1.PluginInvocation{}
			if gerr := s.kube.Get(ctx, client.ObjectKeyFromObject(target), live); gerr != nil {
				return gerr
			}
			inv = live
			return err
		}
		if err != nil {
			return err
		}
		message = callbackRecorded
		return nil
	})
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return "", err
	case apierrors.IsNotFound(err):
		return "", callbackLookupError(errorf(http.StatusNotFound, "no invocation with trace id %s", inv.Name), inv.Name)
	case err != nil:
		return "", kubeErr(err, "record callback %s of invocation %s", claims.CallbackID, inv.Name)
	}
	return message, nil
}

// callbackLookupError answers a callback whose token names no invocation
// (never made, or deleted after its TTL) as the Python framework does: 400,
// since its view answers every callback it cannot deliver 400
// (runtime/callback/api.py finds no schedule in state CALLBACK). Other
// lookup errors (the API server unreachable: 503) stay as they are, so that
// the third party retries.
func callbackLookupError(err error, traceID string) error {
	if isNotFound(err) {
		return errorf(http.StatusBadRequest, "callback fail: no invocation with trace id %s", traceID)
	}
	return err
}

// callbackData checks a callback body: JSON, as the Python framework's view
// requires (json.loads of the body; an empty body is 400 there too).
func callbackData(body []byte) (json.RawMessage, error) {
	body = bytes.TrimSpace(body)
	switch {
	case len(body) == 0:
		return nil, errorf(http.StatusBadRequest, "%s: the callback data must be JSON; the body is empty", invalidCallbackBody)
	case len(body) > maxCallbackDataBytes:
		return nil, errorf(http.StatusRequestEntityTooLarge, "callback data is %d bytes; at most %d are kept", len(body), maxCallbackDataBytes)
	case !json.Valid(body):
		return nil, errorf(http.StatusBadRequest, "%s: callback data must be JSON", invalidCallbackBody)
	case !utf8.Valid(body):
		// The API server would store U+FFFD in place of the bad bytes.
		return nil, errorf(http.StatusBadRequest, "%s: callback data is not valid UTF-8", invalidCallbackBody)
	}
	return json.RawMessage(body), nil
}
