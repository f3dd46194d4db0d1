package cli

import (
	"github.com/spf13/cobra"
)

func newCancelCommand(g *globals) *cobra.Command {
	var wait bool
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
		RunE: func(cmd *cobra.Command, args []string) error {
			code, traceID := args[0], args[1]
			c, err := g.client()
			if err != nil {
				return err
			}
			s, err := c.Cancel(cmd.Context(), code, traceID)
			if err != nil {
				return err
			}
			if wait && !s.State.Terminal() {
				if s, err = g.wait(cmd.Context(), c, code, traceID, w); err != nil {
					return err
				}
			}
			// A cancelled invocation ending FAIL is what was asked for: exit 0.
			return g.writeInvocation(viewOfSchedule(code, *s))
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "follow the invocation until it has ended")
	addWaitFlags(cmd, &w)
	return cmd
}
