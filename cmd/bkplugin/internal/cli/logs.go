package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/bkplugin/bk-plugin-operator/sdk/client"
)

func newLogsCommand(g *globals) *cobra.Command {
	var follow bool
	var interval time.Duration
	cmd := &cobra.Command{
		Use:   "logs CODE TRACE_ID",
		Short: "Print an invocation's log (-f follows it until the invocation ends)",
		Long: `Print an invocation's log lines. With -f, print new lines as they come until
the invocation ends SUCCESS or FAIL. With -o json, print {"trace_id", "lines"},
or with -f one JSON object per line: {"trace_id", "line"}.`,
		Example: "  bkplugin logs poller 5f1c0d3e9a7b4c2d8e6f0a1b2c3d4e5f -f",
		Args:    exactArgs("CODE", "TRACE_ID"),
		RunE: g.onInvocation(func(ctx context.Context, c *client.Client, code, traceID string) error {
			if follow {
				return g.followLogs(ctx, c, code, traceID, interval)
			}
			l, err := c.Logs(ctx, code, traceID)
			if err != nil {
				return err
			}
			if g.json() {
				lines := l.Lines()
				if lines == nil {
					lines = []string{}
				}
				return writeJSON(g.io.Out, map[string]any{"trace_id": traceID, "lines": lines})
			}
			for _, line := range l.Lines() {
				fmt.Fprintln(g.io.Out, line)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVarP(&follow, "follow", "f", false, "print new lines until the invocation ends")
	cmd.Flags().DurationVar(&interval, "interval", time.Second, "how often to ask for new lines with -f")
	return cmd
}

// followLogs prints the log's new lines every interval until the
// invocation is terminal, then reads the log once more for lines written
// by the last execute.
func (g *globals) followLogs(ctx context.Context, c *client.Client, code, traceID string, interval time.Duration) error {
	if interval <= 0 {
		interval = time.Second
	}
	// The log is not append-only: it merges the plugin's lines with the
	// manager's by time, so a line can appear before lines already
	// printed. A line is new when it occurs more often than printed so far.
	printed := map[string]int{}
	emit := func() error {
		l, err := c.Logs(ctx, code, traceID)
		if err != nil {
			return err
		}
		seen := map[string]int{}
		for _, line := range l.Lines() {
			seen[line]++
			if seen[line] <= printed[line] {
				continue
			}
			printed[line] = seen[line]
			if g.json() {
				if err := writeJSONLine(g.io.Out, map[string]string{"trace_id": traceID, "line": line}); err != nil {
					return err
				}
			} else {
				fmt.Fprintln(g.io.Out, line)
			}
		}
		return nil
	}
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		s, err := c.Schedule(ctx, code, traceID)
		if err != nil {
			return err
		}
		if err := emit(); err != nil {
			return err
		}
		if s.State.Terminal() {
			fmt.Fprintf(g.io.Err, "%s %s ended %s\n", code, traceID, s.State)
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ticker.C:
		}
	}
}
