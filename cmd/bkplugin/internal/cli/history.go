package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// maxHistoryPages bounds --all, so that a shim answering the same cursor
// forever cannot keep the command running.
const maxHistoryPages = 1000

func newHistoryCommand(g *globals) *cobra.Command {
	var state, version, cursor string
	var limit int
	var all bool
	cmd := &cobra.Command{
		Use:   "history CODE",
		Short: "List a plugin's invocations, live and archived, newest first",
		Long: `List a plugin's invocations (GET /plugins/{code}/bk_plugin/invocations, an
extension of the standard API), newest first, one page at a time: the next
page's cursor is printed on stderr. --all follows every cursor.`,
		Example: "  bkplugin history hello --state FAIL --limit 50\n  bkplugin history poller --version 1.0.0 --all -o json",
		Args:    exactArgs("CODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			code := args[0]
			q := stdapi.InvocationsQuery{Version: version, Cursor: cursor, Limit: limit}
			if state != "" {
				s, err := protocol.ParseState(strings.ToUpper(state))
				if err != nil {
					return usagef("--state: %w", err)
				}
				q.State = s
			}
			if limit < 0 {
				return usagef("--limit %d: must not be negative", limit)
			}
			c, err := g.client()
			if err != nil {
				return err
			}
			var items []stdapi.InvocationSummary
			next := ""
			for page := 0; ; page++ {
				if page == maxHistoryPages {
					return fmt.Errorf("history of plugin %s: stopped after %d pages", code, maxHistoryPages)
				}
				list, err := c.History(cmd.Context(), code, q)
				if err != nil {
					return err
				}
				items = append(items, list.Items...)
				next = list.NextCursor
				if !all || next == "" || next == q.Cursor {
					break
				}
				q.Cursor = next
			}
			if all {
				next = ""
			}
			if g.json() {
				if items == nil {
					items = []stdapi.InvocationSummary{}
				}
				return writeJSON(g.io.Out, stdapi.InvocationList{Items: items, NextCursor: next})
			}
			rows := [][]string{{"TRACE ID", "VERSION", "STATE", "CREATED", "FINISHED", "ERROR"}}
			for _, it := range items {
				rows = append(rows, []string{it.TraceID, orDash(it.PluginVersion), it.State.String(),
					orDash(it.CreatedAt.String()), orDash(it.FinishAt.String()), orDash(it.Err)})
			}
			if err := table(g.io.Out, rows); err != nil {
				return err
			}
			if next != "" {
				fmt.Fprintf(g.io.Err, "more: --cursor %s\n", next)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&state, "state", "", "only invocations in this state: EMPTY, POLL, CALLBACK, SUCCESS or FAIL")
	f.StringVar(&version, "version", "", "only invocations of this version")
	f.StringVar(&cursor, "cursor", "", "continue where a previous page ended")
	f.IntVar(&limit, "limit", 0, "at most this many per page (0: the shim's default)")
	f.BoolVar(&all, "all", false, "follow every page")
	return cmd
}
