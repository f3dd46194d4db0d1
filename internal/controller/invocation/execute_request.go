package invocation

import (
	"encoding/json"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// buildExecuteRequest assembles the whole context of an execute from the
// invocation (pluginexec.NewRequest, which the shim's first execute uses
// too): plugin pods are stateless, so everything they need travels in the
// request.
func buildExecuteRequest(inv *bkv1.PluginInvocation, plv *bkv1.PluginVersion, traceID string,
	cb *pendingCallback, opts Options) *protocol.ExecuteRequest {
	var delivered *protocol.Callback
	if cb != nil {
		delivered = &protocol.Callback{ID: cb.ID, Data: cb.Data}
	}
	return pluginexec.NewRequest(inv, plv.Spec.Version, traceID, delivered, opts.callbackOptions())
}

// callbackOptions are the callback options of every execute.
func (o Options) callbackOptions() pluginexec.CallbackOptions {
	return pluginexec.CallbackOptions{BaseURL: o.CallbackBaseURL, Key: o.CallbackKey, TokenTTL: o.CallbackTokenTTL}
}

// CallbackBaseURL is where third parties post the callbacks of a plugin
// (pluginexec.CallbackBaseURL).
func CallbackBaseURL(shimURL, plugin string) string {
	return pluginexec.CallbackBaseURL(shimURL, plugin)
}

// callError and answerTooLargeError are pluginexec's, under the names the
// decisions and their tables use.
type (
	callError           = pluginexec.CallError
	answerTooLargeError = pluginexec.AnswerTooLargeError
)

func raw(j *apiextensionsv1.JSON) json.RawMessage {
	if j == nil {
		return nil
	}
	return j.Raw
}

// timedOut reports whether a failed call to a plugin pod got no answer in
// time (pluginexec.TimedOut).
func timedOut(callErr error) bool { return pluginexec.TimedOut(callErr) }
