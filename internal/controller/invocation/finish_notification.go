package invocation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/wirestate"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// finishNotificationBody is what the finish-notification URL receives: the
// result in the standard API's terms, plus the data the caller asked for.
type finishNotificationBody struct {
	TraceID       string          `json:"trace_id"`
	PluginCode    string          `json:"plugin_code"`
	PluginVersion string          `json:"plugin_version"`
	State         protocol.State  `json:"state"`
	Outputs       json.RawMessage `json:"outputs"`
	Err           string          `json:"err"`
	Data          json.RawMessage `json:"data,omitempty"`
}

// reconcileFinished does what planFinished decides for a finished
// invocation: post its finish notification, recording the outcome through
// the one status writer, then wait out its TTL and delete it.
func (r *Reconciler) reconcileFinished(ctx context.Context, inv *bkv1.PluginInvocation, now time.Time) (reconcile.Result, error) {
	step := planFinished(inv, now, r.Options.DefaultTTL)
	if step.notify {
		err := r.notify(ctx, inv)
		if err != nil {
			r.Metrics.retry(inv.Spec.Plugin)
		}
		t := applyNotification(inv, err, now, r.Options.RetryBudget, r.Options.RetryInitialInterval, r.Options.RetryMaxInterval)
		written, uerr := r.persistStatus(ctx, inv, t.status)
		if uerr != nil {
			return reconcile.Result{}, fmt.Errorf("record finish notification of invocation %s/%s: %w", inv.Namespace, inv.Name, uerr)
		}
		if t.requeueAfter > 0 {
			return reconcile.Result{RequeueAfter: t.requeueAfter}, nil
		}
		inv = written
		step = planFinished(inv, now, r.Options.DefaultTTL)
	}
	if !step.expire {
		return reconcile.Result{RequeueAfter: step.requeueAfter}, nil
	}
	// The UID precondition keeps a TTL from deleting a new invocation that
	// reuses the name (a client retrying with the same trace id).
	uid := inv.UID
	if err := r.Delete(ctx, inv, &client.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, fmt.Errorf("delete expired invocation %s/%s: %w", inv.Namespace, inv.Name, err)
	}
	return reconcile.Result{}, nil
}

// notify posts the result to spec.finishNotification.url.
func (r *Reconciler) notify(ctx context.Context, inv *bkv1.PluginInvocation) error {
	fn := inv.Spec.FinishNotification
	outputs := raw(inv.Status.Outputs)
	if outputs == nil {
		outputs = json.RawMessage(`{}`)
	}
	body, err := json.Marshal(finishNotificationBody{
		TraceID: invocationTraceID(inv), PluginCode: inv.Spec.Plugin, PluginVersion: inv.Status.ResolvedVersion,
		State: wirestate.Of(inv.Status.State), Outputs: outputs, Err: inv.Status.Error, Data: raw(fn.Data),
	})
	if err != nil {
		return fmt.Errorf("encode finish notification: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fn.URL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("finish notification to %s: %w", fn.URL, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(protocol.HeaderTraceID, invocationTraceID(inv))
	resp, err := r.Options.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("finish notification to %s: %w", fn.URL, err)
	}
	defer func() { _ = resp.Body.Close() }()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("finish notification to %s: HTTP %d", fn.URL, resp.StatusCode)
	}
	return nil
}
