package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/bkplugin/bk-plugin-operator/sdk/client"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

func newScheduleCommand(g *globals) *cobra.Command {
	var w waitOptions
	cmd := &cobra.Command{
		Use:     "schedule CODE TRACE_ID",
		Short:   "Show an invocation's state, outputs and times",
		Example: "  bkplugin schedule poller 5f1c0d3e9a7b4c2d8e6f0a1b2c3d4e5f\n  bkplugin schedule poller 5f1c0d3e9a7b4c2d8e6f0a1b2c3d4e5f --wait -o json",
		Args:    exactArgs("CODE", "TRACE_ID"),
		RunE: g.onInvocation(func(ctx context.Context, c *client.Client, code, traceID string) error {
			s, err := g.readAndWait(ctx, c, code, traceID, c.Schedule, w)
			if err != nil {
				return err
			}
			if err := g.writeInvocation(viewOfSchedule(code, *s)); err != nil {
				return err
			}
			if w.enabled && s.State == protocol.StateFail {
				return &failedError{code: code, traceID: traceID, msg: s.Err}
			}
			return nil
		}),
	}
	addWaitFlags(cmd, &w, "follow the invocation until it ends SUCCESS or FAIL (exit status 1 on FAIL)")
	return cmd
}
