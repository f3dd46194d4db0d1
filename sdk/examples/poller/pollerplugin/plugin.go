// Package pollerplugin is the poller example plugin: it waits to be polled a
// number of times. Its behaviour is a contract that the demo and the
// end-to-end checks rely on.
//
// poller 1.0.0 keeps a counter of polls done in storage: 0 on the first
// execute, k on the k-th poll. On each execute, when the counter equals
// fail_at it ends FAIL with "failed at poll <k>"; otherwise when it has
// reached polls it ends SUCCESS with output polls_done = polls; otherwise it
// waits interval seconds to be polled again. polls_done reports the polls
// done so far on every execute.
package pollerplugin

import (
	"fmt"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// Code is the plugin's code.
const Code = "poller"

// counterKey is where the counter lives in storage.
const counterKey = "counter"

// Inputs of poller 1.0.0.
type Inputs struct {
	Polls    int  `json:"polls" jsonschema:"title=Polls,description=How many times to be polled before succeeding,default=3,minimum=0"`
	Interval int  `json:"interval" jsonschema:"title=Interval,description=Seconds between polls,default=1,minimum=0"`
	FailAt   *int `json:"fail_at,omitempty" jsonschema:"title=Fail at,description=Fail when the counter reaches this poll"`
}

// Outputs of poller 1.0.0.
type Outputs struct {
	PollsDone int `json:"polls_done" jsonschema:"title=Polls done"`
}

// Plugin returns a new poller plugin.
func Plugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: Code, Description: "Waits to be polled, then succeeds or fails on request."})
	plugin.MustAddVersion(p, plugin.Version[Inputs, plugin.None, Outputs]{
		Version:     "1.0.0",
		Description: "Succeeds after polls polls, interval seconds apart; fails at poll fail_at.",
		Execute:     execute,
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
	ctx.Log.Info("polled", "counter", counter, "polls", ctx.Inputs.Polls)
	switch {
	case ctx.Inputs.FailAt != nil && counter == *ctx.Inputs.FailAt:
		return fmt.Errorf("failed at poll %d", counter)
	case counter >= ctx.Inputs.Polls:
		return nil
	}
	ctx.WaitPoll(time.Duration(ctx.Inputs.Interval) * time.Second)
	return nil
}
