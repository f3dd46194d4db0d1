package cli

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

func newPluginsCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:     "plugins",
		Short:   "List the plugins the shim serves",
		Example: "  bkplugin plugins\n  bkplugin plugins -o json",
		Args:    exactArgs(),
		RunE: func(cmd *cobra.Command, _ []string) error {
			c, err := g.client()
			if err != nil {
				return err
			}
			list, err := c.ListPlugins(cmd.Context())
			if err != nil {
				return err
			}
			if g.json() {
				if list.Results == nil {
					list.Results = []stdapi.PluginSummary{}
				}
				return writeJSON(g.io.Out, list)
			}
			rows := [][]string{{"CODE", "NAME", "VERSIONS"}}
			for _, p := range list.Results {
				rows = append(rows, []string{p.Code, orDash(p.Name), orDash(strings.Join(p.Versions, ","))})
			}
			return table(g.io.Out, rows)
		},
	}
}
