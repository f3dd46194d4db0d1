package invocation

import (
	"encoding/json"
	"net/url"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/wirestate"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// buildExecuteRequest assembles the whole context of an execute from the
// invocation: plugin pods are stateless, so everything they need travels in
// the request.
func buildExecuteRequest(inv *bkv1.PluginInvocation, plv *bkv1.PluginVersion, traceID string,
	cb *pendingCallback, opts Options) *protocol.ExecuteRequest {
	req := &protocol.ExecuteRequest{
		ProtocolVersion: protocol.Version,
		TraceID:         traceID,
		PluginCode:      inv.Spec.Plugin,
		PluginVersion:   plv.Spec.Version,
		State:           wirestate.Of(inv.Status.State),
		InvokeCount:     int(inv.Status.InvokeCount) + 1,
		Attempt:         int(max(inv.Status.Attempt, 1)),
		Inputs:          raw(inv.Spec.Inputs),
		Context:         raw(inv.Spec.Context),
		Storage:         raw(inv.Status.Storage),
		Outputs:         raw(inv.Status.Outputs),
	}
	if cb != nil {
		req.Callback = &protocol.Callback{ID: cb.ID, Data: cb.Data}
	}
	if opts.CallbackBaseURL != "" && len(opts.CallbackKey) > 0 {
		req.CallbackBaseURL = CallbackBaseURL(opts.CallbackBaseURL, inv.Spec.Plugin)
		// Bound to the UID too: a later invocation reusing the trace id
		// accepts none of this one's tokens.
		req.CallbackKey = protocol.DeriveBoundKey(opts.CallbackKey, traceID, string(inv.UID))
		req.CallbackTokenTTLSeconds = opts.CallbackTokenTTL.Seconds()
	}
	return req
}

// CallbackBaseURL is where third parties post the callbacks of a plugin:
// the shim's callback route, to which a token and "/" are appended.
func CallbackBaseURL(shimURL, plugin string) string {
	return strings.TrimRight(shimURL, "/") + "/plugins/" + url.PathEscape(plugin) + "/bk_plugin/callback/"
}

func raw(j *apiextensionsv1.JSON) json.RawMessage {
	if j == nil {
		return nil
	}
	return j.Raw
}
