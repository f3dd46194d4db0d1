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
// invocation: post its finish notification, archive it, each outcome
// recorded through the one status writer, then wait out its time in the
// cluster and delete it.
func (r *Reconciler) reconcileFinished(ctx context.Context, inv *bkv1.PluginInvocation, now time.Time) (reconcile.Result, error) {
	step := planFinished(inv, now, r.Options.KeepFinished)
	if step.notify {
		err := r.notify(ctx, inv)
		if err != nil {
			r.Metrics.retry(inv.Spec.Plugin)
		}
		t := applyNotification(inv, err, now, r.Options.RetryBudget, r.Options.RetryInitialInterval, r.Options.RetryMaxInterval)
		st := t.status
		if t.requeueAfter == 0 {
			// Notified: archive now and record both in one write.
			st = r.archivedWith(ctx, inv, st, now)
		}
		written, uerr := r.persistStatus(ctx, inv, st)
		if uerr != nil {
			return reconcile.Result{}, fmt.Errorf("record finish notification of invocation %s/%s: %w", inv.Namespace, inv.Name, uerr)
		}
		if t.requeueAfter > 0 {
			return reconcile.Result{RequeueAfter: t.requeueAfter}, nil
		}
		inv = written
		step = planFinished(inv, now, r.Options.KeepFinished)
	}
	if step.archive {
		out, err := r.archive(ctx, inv, now)
		if err != nil {
			return reconcile.Result{}, err
		}
		if out.write {
			written, uerr := r.persistStatus(ctx, inv, out.status)
			if uerr != nil {
				// Archived but not marked: the next reconcile puts the same
				// record again (an upsert), then marks it.
				return reconcile.Result{}, fmt.Errorf("record archiving of invocation %s/%s: %w", inv.Namespace, inv.Name, uerr)
			}
			inv = written
		}
		if out.retryAfter > 0 {
			return reconcile.Result{RequeueAfter: out.retryAfter}, nil
		}
		step = planFinished(inv, now, r.Options.KeepFinished)
	}
	if !step.expire {
		return reconcile.Result{RequeueAfter: step.requeueAfter}, nil
	}
	// The UID precondition keeps a TTL from deleting a new invocation that
	// reuses the name (a client retrying with the same trace id). The
	// invocation's Secret goes with it: the invocation owns it (archive
	// adopted it), so the garbage collector deletes it.
	uid := inv.UID
	if err := r.Delete(ctx, inv, &client.DeleteOptions{Preconditions: &metav1.Preconditions{UID: &uid}}); client.IgnoreNotFound(err) != nil {
		return reconcile.Result{}, fmt.Errorf("delete expired invocation %s/%s: %w", inv.Namespace, inv.Name, err)
	}
	return reconcile.Result{}, nil
}

// notify posts the result to spec.finishNotification.url.
func (r *Reconciler) notify(ctx context.Context, inv *bkv1.PluginInvocation) error {
	fn := inv.Spec.FinishNotification
	body, err := notificationBody(inv)
	if err != nil {
		return err
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
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return notificationAccepted(fn, resp.StatusCode, answer)
}

// notificationBody is what spec.finishNotification.url receives: the
// result in the standard API's terms plus data, or, for the Python
// framework's finish callback (pluginCallback), exactly data ({} when
// unset), which is all its receivers (bk-sops' node callback) expect.
func notificationBody(inv *bkv1.PluginInvocation) ([]byte, error) {
	fn := inv.Spec.FinishNotification
	if fn.PluginCallback {
		data := raw(fn.Data)
		if len(data) == 0 || string(data) == "null" {
			data = json.RawMessage(`{}`)
		}
		return data, nil
	}
	outputs := raw(inv.Status.Outputs)
	if outputs == nil {
		outputs = json.RawMessage(`{}`)
	}
	body, err := json.Marshal(finishNotificationBody{
		TraceID: invocationTraceID(inv), PluginCode: inv.Spec.Plugin, PluginVersion: inv.Status.ResolvedVersion,
		State: wirestate.Of(inv.Status.State), Outputs: outputs, Err: inv.Status.Error, Data: raw(fn.Data),
	})
	if err != nil {
		return nil, fmt.Errorf("encode finish notification: %w", err)
	}
	return body, nil
}

// notificationAccepted judges the receiver's answer: any 2xx, and for the
// Python framework's finish callback also a JSON body whose result is
// absent or true, its callbacker's rule (bk-sops answers 200
// {"result": false} when it could not take the callback).
func notificationAccepted(fn *bkv1.FinishNotification, status int, answer []byte) error {
	if status < 200 || status > 299 {
		return fmt.Errorf("finish notification to %s: HTTP %d", fn.URL, status)
	}
	if !fn.PluginCallback {
		return nil
	}
	var v any
	if err := json.Unmarshal(answer, &v); err != nil {
		return fmt.Errorf("finish notification to %s: the answer is not JSON: %.100q", fn.URL, answer)
	}
	if obj, ok := v.(map[string]any); ok {
		if result, has := obj["result"]; has && !truthy(result) {
			return fmt.Errorf("finish notification to %s: the receiver answered result %v: %.200s", fn.URL, result, answer)
		}
	}
	return nil
}

// truthy is Python's truth of a decoded JSON value, as the callbacker
// tests result.
func truthy(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case bool:
		return x
	case float64:
		return x != 0
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}
