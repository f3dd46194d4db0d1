// Package callbackerplugin is the callbacker example plugin: it waits for a
// third party to call back. Its behaviour is a contract that the demo and
// the end-to-end checks rely on.
//
// callbacker 1.0.0 prepares a callback on its first execute, writes outputs
// callback_id and callback_url, and waits for the callback. When it arrives
// it ends SUCCESS with output received = the callback's data, or FAIL when
// the data is {"fail": true}. A callback with another id (not one it
// prepared) is logged and the wait goes on.
package callbackerplugin

import (
	"encoding/json"
	"errors"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// Code is the plugin's code.
const Code = "callbacker"

const callbackIDKey = "callback_id"

// Outputs of callbacker 1.0.0.
type Outputs struct {
	CallbackID  string          `json:"callback_id,omitempty" jsonschema:"title=Callback id"`
	CallbackURL string          `json:"callback_url,omitempty" jsonschema:"title=Callback URL,description=Post the result here"`
	Received    json.RawMessage `json:"received,omitempty" jsonschema:"title=Received,description=The callback's data"`
}

// Plugin returns a new callbacker plugin.
func Plugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: Code, Description: "Waits for a callback and reports what it carried."})
	plugin.MustAddVersion(p, plugin.Version[plugin.None, plugin.None, Outputs]{
		Version:     "1.0.0",
		Description: "Prepares a callback, waits for it, and outputs its data.",
		Execute:     execute,
	})
	return p
}

func execute(ctx *plugin.Context[plugin.None, plugin.None, Outputs]) error {
	if ctx.State != plugin.StateCallback {
		cb, err := ctx.PrepareCallback()
		if err != nil {
			return err
		}
		if err := ctx.Storage.Set(callbackIDKey, cb.ID); err != nil {
			return err
		}
		ctx.Outputs.CallbackID, ctx.Outputs.CallbackURL = cb.ID, cb.URL
		ctx.Log.Info("waiting for callback", "callback_id", cb.ID)
		ctx.WaitCallback()
		return nil
	}
	var want string
	if _, err := ctx.Storage.Get(callbackIDKey, &want); err != nil {
		return err
	}
	if ctx.Callback.ID != want {
		ctx.Log.Warn("ignored a callback that was not prepared", "callback_id", ctx.Callback.ID)
		ctx.WaitCallback()
		return nil
	}
	var verdict struct {
		Fail bool `json:"fail"`
	}
	// Data that is not an object carries no verdict: it is just received.
	_ = json.Unmarshal(ctx.Callback.Data, &verdict)
	if verdict.Fail {
		return errors.New("the callback asked to fail")
	}
	ctx.Outputs.Received = ctx.Callback.Data
	if len(ctx.Outputs.Received) == 0 {
		ctx.Outputs.Received = json.RawMessage("null")
	}
	return nil
}
