package invocation

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"time"

	corev1 "k8s.io/api/core/v1"
	logf "sigs.k8s.io/controller-runtime/pkg/log"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// cancelHookTimeout bounds the call to a plugin's cancel hook: the
// invocation ends FAIL whatever the hook does, so it must not hold the end.
const cancelHookTimeout = 10 * time.Second

// cancelReasonOf decides whether ending inv with step s must tell the plugin
// pod (its OnCancel hook), and with which reason: only a cancel or a passed
// deadline of an invocation that has executed, since before its first
// execute the plugin has started nothing.
func cancelReasonOf(s step, inv *bkv1.PluginInvocation) (string, bool) {
	if inv.Status.InvokeCount == 0 {
		return "", false
	}
	switch s.reason {
	case bkv1.ReasonCancelled:
		return protocol.CancelReasonCancelled, true
	case bkv1.ReasonDeadline:
		return protocol.CancelReasonTimeout, true
	}
	return "", false
}

// tellPluginCancelled POSTs the cancel request to the plugin pod, once. A
// failure is logged and recorded as an event; the invocation still ends.
func (r *Reconciler) tellPluginCancelled(ctx context.Context, inv *bkv1.PluginInvocation, plv *bkv1.PluginVersion, traceID, reason string) {
	err := r.postCancel(ctx, inv, plv, traceID, reason)
	if err == nil {
		return
	}
	logf.FromContext(ctx).Info("could not tell the plugin pod that the invocation ended", "reason", reason, "error", err.Error())
	r.emit(inv, invocationEvent{eventType: corev1.EventTypeWarning, reason: "CancelHookFailed",
		note: fmt.Sprintf("telling the plugin pod (%s): %v", reason, err)}, "Cancel")
}

func (r *Reconciler) postCancel(ctx context.Context, inv *bkv1.PluginInvocation, plv *bkv1.PluginVersion, traceID, reason string) error {
	baseURL, err := versions.EndpointURL(plv, r.Options.ClusterDomain, r.Options.ResolveService)
	if err != nil {
		return err
	}
	req := protocol.CancelRequest{ExecuteRequest: *buildExecuteRequest(inv, plv, traceID, nil, r.Options), Reason: reason}
	req.CallbackKey, req.CallbackBaseURL = nil, ""
	body, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("encode cancel request: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, cancelHookTimeout)
	defer cancel()
	endpoint := baseURL + protocol.CancelPathPrefix + url.PathEscape(plv.Spec.Version)
	hreq, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
	if err != nil {
		return err
	}
	hreq.Header.Set("Content-Type", "application/json")
	hreq.Header.Set(protocol.HeaderTraceID, traceID)
	// The pod guards cancel as it guards execute: the manager's token.
	if r.caller.Token != nil {
		if tok := r.caller.Token(); tok != "" {
			hreq.Header.Set("Authorization", "Bearer "+tok)
		}
	}
	resp, err := r.caller.HTTP.Do(hreq)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	answer, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s: HTTP %d: %.200s", endpoint, resp.StatusCode, answer)
	}
	return nil
}
