package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
)

// maxCallbackURLLength is the CRD's limit on spec.finishNotification.url.
const maxCallbackURLLength = 2048

// rejectedInputs is an invoke whose inputs or context the Python framework
// would fail on its first execute without persisting anything: it answers
// 200, result true, state FAIL, outputs null and err (which starts
// "inputs validation error: " or "context validation error: "), and no
// invocation is created.
type rejectedInputs struct{ err string }

func (e *rejectedInputs) Error() string { return e.err }

// pluginCallbackInfo reads context.plugin_callback_info for a version in
// the finish-callback mode and returns the finish notification it asks for:
// a POST of data to url once a later execute ends the invocation. Like the
// Python framework it is read only when the version enables the mode (the
// key then stays in the context, which declares it); nil when the version
// does not. A missing or malformed one is a context validation error.
func pluginCallbackInfo(plv *bkv1.PluginVersion, ctx json.RawMessage) (*bkv1.FinishNotification, error) {
	if !plv.Spec.EnablePluginCallback {
		return nil, nil
	}
	var c map[string]json.RawMessage
	if err := json.Unmarshal(ctx, &c); err != nil {
		return nil, &rejectedInputs{schema.ContextErrorPrefix + "context must be a JSON object"}
	}
	raw, ok := c[plugin.PluginCallbackInfoKey]
	if !ok || string(raw) == "null" {
		return nil, &rejectedInputs{fmt.Sprintf("%scontext.%s: required", schema.ContextErrorPrefix, plugin.PluginCallbackInfoKey)}
	}
	var info struct {
		URL  *string         `json:"url"`
		Data json.RawMessage `json:"data"`
	}
	bad := func(field, why string) error {
		return &rejectedInputs{fmt.Sprintf("%scontext.%s.%s: %s", schema.ContextErrorPrefix, plugin.PluginCallbackInfoKey, field, why)}
	}
	if err := json.Unmarshal(raw, &info); err != nil {
		return nil, &rejectedInputs{fmt.Sprintf("%scontext.%s: must be an object {url, data}", schema.ContextErrorPrefix, plugin.PluginCallbackInfoKey)}
	}
	switch {
	case info.URL == nil:
		return nil, bad("url", "required")
	case len(info.Data) == 0:
		return nil, bad("data", "required")
	case info.Data[0] != '{':
		return nil, bad("data", "must be an object")
	case len(*info.URL) > maxCallbackURLLength:
		return nil, bad("url", fmt.Sprintf("longer than %d characters", maxCallbackURLLength))
	}
	u, err := url.Parse(*info.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("url", "must be an absolute http or https URL")
	}
	return &bkv1.FinishNotification{URL: *info.URL, Data: &apiextensionsv1.JSON{Raw: info.Data}, PluginCallback: true}, nil
}

// markAnsweredPending records on inv that its invoke answer was not final
// (bkv1.AnnotationInvokeAnsweredPending), before the answer is sent: in the
// finish-callback mode the platform now waits for the finish POST, which the
// manager sends only for invocations so marked. Other invocations are left
// alone.
func (s *invocations) markAnsweredPending(ctx context.Context, inv *bkv1.PluginInvocation) error {
	fn := inv.Spec.FinishNotification
	if fn == nil || !fn.PluginCallback || inv.Annotations[bkv1.AnnotationInvokeAnsweredPending] == "true" {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{bkv1.AnnotationInvokeAnsweredPending: "true"},
	}})
	if err != nil {
		return fmt.Errorf("encode answered-pending patch: %w", err)
	}
	target := &bkv1.PluginInvocation{ObjectMeta: metav1.ObjectMeta{Namespace: inv.Namespace, Name: inv.Name}}
	if err := s.kube.Patch(ctx, target, client.RawPatch(types.MergePatchType, patch)); err != nil {
		return kubeErr(err, "record that the invoke answer of invocation %s was not final", inv.Name)
	}
	return nil
}

// answerRejected writes the invoke answer of a rejectedInputs.
func (s *Server) answerRejected(w http.ResponseWriter, traceID string, rej *rejectedInputs) {
	env := struct {
		Result  bool   `json:"result"`
		Data    any    `json:"data"`
		Message string `json:"message"`
		TraceID string `json:"trace_id"`
	}{Result: true, Data: map[string]any{"outputs": nil, "state": 5, "err": rej.err}, Message: "success", TraceID: traceID}
	writeJSON(w, http.StatusOK, env)
}
