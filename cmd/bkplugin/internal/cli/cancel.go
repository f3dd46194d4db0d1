package cli

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/bkplugin/bk-plugin-operator/sdk/client"
)

func newCancelCommand(g *globals) *cobra.Command {
	var w waitOptions
	cmd := &cobra.Command{
		Use:   "cancel CODE TRACE_ID",
		Short: "Cancel an invocation (it ends FAIL once the plugin has been told)",
		Long: `Ask the shim to cancel an invocation (POST /plugins/{code}/bk_plugin/cancel/{trace_id},
an extension of the standard API). The cancel is recorded at once; the
invocation ends FAIL when the manager has told the plugin. --wait follows it
until then.`,
		Example: "  bkplugin cancel poller 5f1c0d3e9a7b4c2d8e6f0a1b2c3d4e5f --wait",
		Args:    exactArgs("CODE", "TRACE_ID"),
		RunE: g.onInvocation(func(ctx context.Context, c *client.Client, code, traceID string) error {
			s, err := g.readAndWait(ctx, c, code, traceID, c.Cancel, w)
			if err != nil {
				return err
			}
			// A cancelled invocation ending FAIL is what was asked for: exit 0.
			return g.writeInvocation(viewOfSchedule(code, *s))
		}),
	}
	addWaitFlags(cmd, &w, "follow the invocation until it has ended")
	return cmd
}
