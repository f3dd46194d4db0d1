// Command recorder is the plugin the reliability harness (package
// reliability) drives: it polls, waits for callbacks or sleeps as its
// inputs ask, and appends every execute it serves to the file named by
// RECORD_FILE as one JSON line {"t": trace id, "n": invoke count, "s": state
// before the execute, "at": Unix nanoseconds}, so that the harness can count
// executes served more than once and executes that came too early.
//
//	RECORD_FILE=/tmp/executes.jsonl recorder serve --addr 127.0.0.1:9000
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/server"
)

// Inputs choose what an invocation does.
type Inputs struct {
	// Mode is poll (poll Polls times, Interval seconds apart, then
	// succeed), callback (wait for one callback, then output its data) or
	// sleep (sleep SleepMS, then succeed).
	Mode     string `json:"mode" jsonschema:"enum=poll,enum=callback,enum=sleep"`
	Polls    int    `json:"polls,omitempty"`
	Interval int    `json:"interval,omitempty"`
	SleepMS  int    `json:"sleep_ms,omitempty"`
	// Batch names the scenario, so that invocations can be told apart.
	Batch string `json:"batch,omitempty"`
}

// Outputs report what happened.
type Outputs struct {
	PollsDone   int             `json:"polls_done"`
	CallbackURL string          `json:"callback_url,omitempty"`
	Received    json.RawMessage `json:"received,omitempty"`
}

// record is one line of the record file.
type record struct {
	TraceID     string `json:"t"`
	InvokeCount int    `json:"n"`
	State       string `json:"s"`
	At          int64  `json:"at"`
}

// recorder appends records; one write per line, with O_APPEND, so that
// lines from concurrent executes (and from a restarted process) never mix.
type recorder struct {
	mu sync.Mutex
	f  *os.File
}

func (r *recorder) add(rec record) error {
	b, err := json.Marshal(rec)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.f == nil {
		return errors.New("RECORD_FILE is not set: this recorder cannot record executes")
	}
	if _, err := r.f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("record execute: %w", err)
	}
	return nil
}

func main() {
	// Only serve needs the file; manifest prints the versions without it.
	rec := &recorder{}
	if path := os.Getenv("RECORD_FILE"); path != "" {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, "recorder:", err)
			os.Exit(1)
		}
		rec.f = f
	}
	server.Main(newPlugin(rec))
}

func newPlugin(rec *recorder) *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: "recorder", Description: "Records every execute it serves."})
	plugin.MustAddVersion(p, plugin.Version[Inputs, plugin.None, Outputs]{
		Version:     "1.0.0",
		Description: "Polls, waits for a callback or sleeps, recording each execute.",
		Execute: func(ctx *plugin.Context[Inputs, plugin.None, Outputs]) error {
			return execute(ctx, rec)
		},
	})
	return p
}

func execute(ctx *plugin.Context[Inputs, plugin.None, Outputs], rec *recorder) error {
	// Recorded first: an execute counts as served once the pod has it,
	// whatever happens to the answer.
	if err := rec.add(record{TraceID: ctx.TraceID, InvokeCount: ctx.InvokeCount, State: ctx.State.String(), At: time.Now().UnixNano()}); err != nil {
		return err
	}
	switch ctx.Inputs.Mode {
	case "poll":
		ctx.Outputs.PollsDone = ctx.InvokeCount - 1
		if ctx.Outputs.PollsDone < ctx.Inputs.Polls {
			ctx.WaitPoll(time.Duration(ctx.Inputs.Interval) * time.Second)
		}
		return nil
	case "callback":
		if ctx.State != plugin.StateCallback {
			cb, err := ctx.PrepareCallback()
			if err != nil {
				return err
			}
			ctx.Outputs.CallbackURL = cb.URL
			ctx.WaitCallback()
			return nil
		}
		ctx.Outputs.Received = ctx.Callback.Data
		return nil
	case "sleep":
		select {
		case <-time.After(time.Duration(ctx.Inputs.SleepMS) * time.Millisecond):
		case <-ctx.Done():
			return ctx.Err()
		}
		return nil
	}
	return fmt.Errorf("unknown mode %q", ctx.Inputs.Mode)
}
