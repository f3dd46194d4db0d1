package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

func newInvokeCommand(g *globals) *cobra.Command {
	var inputs, ctxInputs, traceID string
	var async bool
	var w waitOptions
	cmd := &cobra.Command{
		Use:   "invoke CODE VERSION",
		Short: "Invoke a version of a plugin (VERSION may be a range such as ^1.2)",
		Long: `Invoke a version of a plugin through the shim. Without --async the shim
answers after the first execute; --wait then follows a POLL or CALLBACK
invocation until it ends, printing its progress on stderr.

--inputs and --context take JSON, @file for a file's content, or @- for
standard input. The exit status is 1 when the invocation ends FAIL.`,
		Example: `  bkplugin invoke hello 1.0.0 --inputs '{"name":"world"}'
  bkplugin invoke poller ^1 --inputs @inputs.json --context '{"operator":"ada"}' --wait
  bkplugin invoke hello 1.1.0 --inputs '{"name":"world"}' --async -o json`,
		Args: exactArgs("CODE", "VERSION"),
		RunE: func(cmd *cobra.Command, args []string) error {
			code, version := args[0], args[1]
			c, err := g.client()
			if err != nil {
				return err
			}
			if inputs == "@-" && ctxInputs == "@-" {
				return usagef("--inputs and --context cannot both read standard input")
			}
			in, err := readJSON("inputs", inputs, g.io.In, "{}", true)
			if err != nil {
				return err
			}
			cx, err := readJSON("context", ctxInputs, g.io.In, "{}", true)
			if err != nil {
				return err
			}
			if traceID != "" && !stdapi.ValidTraceID(traceID) {
				return usagef("--trace-id %q: want %d lowercase hex characters", traceID, stdapi.TraceIDLength)
			}
			res, err := c.Invoke(cmd.Context(), code, version, stdapi.InvokeRequest{Inputs: in, Context: cx},
				client.InvokeOptions{TraceID: traceID, Async: async})
			if err != nil {
				return err
			}
			view := invocationView{
				TraceID: res.TraceID, Plugin: code, State: res.State, StateName: res.State.String(),
				Outputs: orEmptyObject(res.Outputs), Err: res.Err,
			}
			if w.enabled && !res.State.Terminal() {
				g.progress(w, "%s %s: %s (invoked)", code, res.TraceID, res.State)
				s, err := g.wait(cmd.Context(), c, code, res.TraceID, w)
				if err != nil {
					return err
				}
				view = viewOfSchedule(code, *s)
			}
			if err := g.writeInvocation(view); err != nil {
				return err
			}
			if view.State == protocol.StateFail {
				return &failedError{code: code, traceID: view.TraceID, msg: view.Err}
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&inputs, "inputs", "", "the inputs: JSON, @file or @- (default {})")
	f.StringVar(&ctxInputs, "context", "", "the context inputs: JSON, @file or @- (default {})")
	f.StringVar(&traceID, "trace-id", "", "name the invocation (32 lowercase hex); repeating the invoke is then safe")
	f.BoolVar(&async, "async", false, "answer as soon as the invocation is recorded, before the first execute")
	addWaitFlags(cmd, &w, "follow the invocation until it ends SUCCESS or FAIL")
	return cmd
}

// addWaitFlags adds --wait, described by usage, and the flags that say how
// to wait.
func addWaitFlags(cmd *cobra.Command, w *waitOptions, usage string) {
	f := cmd.Flags()
	f.BoolVar(&w.enabled, "wait", false, usage)
	f.DurationVar(&w.interval, "interval", time.Second, "how often to ask for the invocation's state while waiting")
	f.DurationVar(&w.timeout, "wait-timeout", 0, "give up waiting after this long (0: wait until Ctrl-C)")
	f.BoolVarP(&w.quiet, "quiet", "q", false, "print no progress on stderr")
}
