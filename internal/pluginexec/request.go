package pluginexec

import (
	"encoding/json"
	"github.com/bkplugin/bk-plugin-operator/internal/callbackkey"
	"net/url"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/wirestate"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// CallbackOptions say where the callbacks a plugin prepares are posted and
// how their tokens are signed; the same in the manager and the shim.
type CallbackOptions struct {
	// BaseURL is the shim's URL as third parties reach it; "" sends no
	// callback URL (a plugin answering CALLBACK then prepares none that
	// can reach the shim).
	BaseURL string
	// Key gives the master key callback tokens are derived from, read at
	// each execute so that a rotated key is used with no restart
	// (callbackkey.Ring; callbackkey.Static for a fixed key). Nil, or no
	// key: no callback URL.
	Key callbackkey.Provider
	// TokenTTL is how long the tokens a plugin signs stay valid.
	TokenTTL time.Duration
}

// NewRequest assembles the whole context of an execute from the invocation:
// plugin pods are stateless, so everything they need travels in the
// request. cb is the callback the execute delivers, if any. The inputs are
// spec.inputs; the caller lays the sensitive ones over them.
func NewRequest(inv *bkv1.PluginInvocation, version, traceID string, cb *protocol.Callback, o CallbackOptions) *protocol.ExecuteRequest {
	req := &protocol.ExecuteRequest{
		ProtocolVersion: protocol.Version,
		TraceID:         traceID,
		PluginCode:      inv.Spec.Plugin,
		PluginVersion:   version,
		State:           wirestate.Of(inv.Status.State),
		InvokeCount:     int(inv.Status.InvokeCount) + 1,
		Attempt:         int(max(inv.Status.Attempt, 1)),
		Inputs:          raw(inv.Spec.Inputs),
		Context:         raw(inv.Spec.Context),
		Storage:         raw(inv.Status.Storage),
		Outputs:         raw(inv.Status.Outputs),
		Callback:        cb,
	}
	var master []byte
	if o.Key != nil {
		// The key now: after a rotation, new tokens use the new key (the
		// shim still accepts the replaced one for its grace period).
		master = o.Key.Current()
	}
	if o.BaseURL != "" && len(master) > 0 {
		req.CallbackBaseURL = CallbackBaseURL(o.BaseURL, inv.Spec.Plugin)
		// Bound to the UID (or the binding the shim chose before the
		// invocation existed) too: a later invocation reusing the trace id
		// accepts none of this one's tokens.
		req.CallbackKey = protocol.DeriveBoundKey(master, traceID, inv.CallbackBindingID())
		ttl := o.TokenTTL
		if ttl <= 0 {
			ttl = protocol.DefaultCallbackTokenTTL
		}
		req.CallbackTokenTTLSeconds = ttl.Seconds()
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
