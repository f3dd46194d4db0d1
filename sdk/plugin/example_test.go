package plugin_test

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// Inputs of the deploy plugin: what a user fills in its form.
type Inputs struct {
	App      string `json:"app" jsonschema:"title=App,description=The app to deploy"`
	Replicas int    `json:"replicas" jsonschema:"title=Replicas,default=2,minimum=1"`
}

// ContextInputs of the deploy plugin: what the calling platform passes.
type ContextInputs struct {
	Operator string `json:"operator" jsonschema:"title=Operator"`
}

// Outputs of the deploy plugin.
type Outputs struct {
	TaskID string `json:"task_id,omitempty" jsonschema:"title=Task id"`
	Ready  int    `json:"ready" jsonschema:"title=Ready replicas"`
}

// DeployPlugin is a complete plugin: it starts a task, then polls it every
// five seconds until all replicas are ready. In its own module, the plugin's
// main function is then one line:
//
//	func main() { server.Main(DeployPlugin()) }
func DeployPlugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "deploy", Description: "Deploys an app."})
	plugin.MustAddVersion(p, plugin.Version[Inputs, ContextInputs, Outputs]{
		Version:     "1.0.0",
		Description: "Deploys an app and waits for its replicas.",
		Execute: func(ctx *plugin.Context[Inputs, ContextInputs, Outputs]) error {
			if ctx.State == plugin.StateEmpty {
				ctx.Outputs.TaskID = "task-" + ctx.Inputs.App // start the real task here
				ctx.Log.Info("deploy started", "operator", ctx.ContextInputs.Operator)
				ctx.WaitPoll(5 * time.Second)
				return nil
			}
			ctx.Outputs.Ready++ // ask the real task here
			if ctx.Outputs.Ready < ctx.Inputs.Replicas {
				ctx.WaitPoll(5 * time.Second)
			}
			return nil
		},
	})
	return p
}

// Example runs the first execute of a complete plugin the way a plugin pod
// does. Tests drive whole invocations with package plugintest instead.
func Example() {
	p := DeployPlugin()
	resp, err := p.Execute(context.Background(), &protocol.ExecuteRequest{
		TraceID:       "0123456789abcdef0123456789abcdef",
		PluginVersion: "1.0.0",
		State:         plugin.StateEmpty,
		InvokeCount:   1,
		Inputs:        json.RawMessage(`{"app": "shop"}`),
		Context:       json.RawMessage(`{"operator": "alice"}`),
	}, plugin.ExecuteOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.State, resp.PollIntervalSeconds, string(resp.Outputs))

	resp, _ = p.Execute(context.Background(), &protocol.ExecuteRequest{
		TraceID:       "0123456789abcdef0123456789abcdef",
		PluginVersion: "1.0.0",
		State:         plugin.StateEmpty,
		InvokeCount:   1,
		Inputs:        json.RawMessage(`{"replicas": 0}`),
	}, plugin.ExecuteOptions{})
	fmt.Println(resp.State, resp.Error)
	// Output:
	// POLL 5 {"task_id":"task-shop","ready":0}
	// FAIL inputs validation error: app: required; replicas: must be >= 1; context.operator: required
}
