// Package notifierplugin is an example plugin in the finish-callback mode
// (the Python framework's enable_plugin_callback): a platform such as
// bk-sops passes plugin_callback_info {url, data} in the invoke context and,
// instead of polling schedule, waits for the operator to POST data to url
// once the invocation ends. The plugin's own code polls as any plugin does.
package notifierplugin

import (
	"errors"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// Code is the plugin's code.
const Code = "notifier"

const counterKey = "counter"

// Inputs choose how the job goes.
type Inputs struct {
	Polls int  `json:"polls" jsonschema:"title=Polls,description=How many polls before the job ends,default=1,minimum=0"`
	Fail  bool `json:"fail,omitempty" jsonschema:"title=Fail,description=End FAIL instead of SUCCESS"`
}

// Outputs report the job.
type Outputs struct {
	PollsDone int `json:"polls_done" jsonschema:"title=Polls done"`
}

// PollInterval is how long the job waits between polls.
const PollInterval = 100 * time.Millisecond

// Plugin builds the plugin.
func Plugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: Code, Description: "Runs a job and calls the platform back when it ends."})
	plugin.MustAddVersion(p, plugin.Version[Inputs, plugin.None, Outputs]{
		Version:              "1.0.0",
		Description:          "Polls polls times, then ends SUCCESS (or FAIL when fail is set).",
		EnablePluginCallback: true,
		Execute:              execute,
	})
	return p
}

func execute(ctx *plugin.Context[Inputs, plugin.None, Outputs]) error {
	counter := 0
	if ctx.State == plugin.StatePoll {
		if _, err := ctx.Storage.Get(counterKey, &counter); err != nil {
			return err
		}
		counter++
	}
	if err := ctx.Storage.Set(counterKey, counter); err != nil {
		return err
	}
	ctx.Outputs.PollsDone = counter
	if counter < ctx.Inputs.Polls {
		ctx.WaitPoll(PollInterval)
		return nil
	}
	if ctx.Inputs.Fail {
		return errors.New("the job failed, as asked")
	}
	return nil
}
