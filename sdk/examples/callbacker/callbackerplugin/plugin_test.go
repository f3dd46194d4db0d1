package callbackerplugin_test

import (
	"strings"
	"testing"

	"github.com/bkplugin/bk-plugin-operator/sdk/examples/callbacker/callbackerplugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugintest"
)

func start(t *testing.T) (*plugintest.Invocation, callbackerplugin.Outputs) {
	t.Helper()
	h := plugintest.New(t, callbackerplugin.Plugin(), plugintest.Options{})
	inv := h.Start("1.0.0", nil, nil)
	inv.AssertState(plugin.StateCallback)
	var out callbackerplugin.Outputs
	inv.DecodeOutputs(&out)
	cbs := inv.Callbacks()
	if len(cbs) != 1 || cbs[0].ID != out.CallbackID || cbs[0].URL != out.CallbackURL {
		t.Fatalf("prepared callbacks %+v, outputs %+v: want one, the same", cbs, out)
	}
	if !strings.HasPrefix(out.CallbackURL, plugintest.DefaultCallbackBaseURL) || !strings.HasSuffix(out.CallbackURL, "/") {
		t.Errorf("callback_url = %q, want base URL + token + /", out.CallbackURL)
	}
	return inv, out
}

func TestCallbackSuccess(t *testing.T) {
	inv, out := start(t)
	if err := inv.CallbackURL(out.CallbackURL, map[string]any{"answer": 42}); err != nil {
		t.Fatalf("CallbackURL: %v", err)
	}
	inv.AssertState(plugin.StateSuccess)
	inv.AssertOutputs(map[string]any{
		"callback_id":  out.CallbackID,
		"callback_url": out.CallbackURL,
		"received":     map[string]any{"answer": 42},
	})
}

func TestCallbackFail(t *testing.T) {
	inv, out := start(t)
	inv.Callback(out.CallbackID, map[string]any{"fail": true})
	inv.AssertError("the callback asked to fail")
}

func TestCallbackNonObjectData(t *testing.T) {
	inv, out := start(t)
	inv.Callback(out.CallbackID, "done")
	inv.AssertState(plugin.StateSuccess)
	var got callbackerplugin.Outputs
	inv.DecodeOutputs(&got)
	if string(got.Received) != `"done"` {
		t.Errorf("received = %s, want \"done\"", got.Received)
	}
}

func TestUnknownCallbackKeepsWaiting(t *testing.T) {
	inv, out := start(t)
	inv.Callback("not-prepared", map[string]any{"fail": true})
	inv.AssertState(plugin.StateCallback)
	inv.Callback(out.CallbackID, map[string]any{"ok": true})
	inv.AssertState(plugin.StateSuccess)
	if inv.InvokeCount() != 3 {
		t.Errorf("InvokeCount = %d, want 3", inv.InvokeCount())
	}
}

func TestForgedCallbackURL(t *testing.T) {
	inv, out := start(t)
	forged := out.CallbackURL[:len(out.CallbackURL)-3] + "xx/"
	if err := inv.CallbackURL(forged, nil); err == nil {
		t.Fatal("a forged callback URL was accepted")
	}
	inv.AssertState(plugin.StateCallback)
}

func TestNoCallbackKeyFails(t *testing.T) {
	h := plugintest.New(t, callbackerplugin.Plugin(), plugintest.Options{NoCallbacks: true})
	inv := h.Start("1.0.0", nil, nil)
	inv.AssertError("callback_key")
}
