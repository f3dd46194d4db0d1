package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// versionsView is the JSON of `versions`: the plugin's meta and every
// version's detail.
type versionsView struct {
	Meta     stdapi.Meta     `json:"meta"`
	Versions []stdapi.Detail `json:"versions"`
}

func newVersionsCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "versions CODE",
		Short: "Show a plugin's meta and every version's inputs, outputs and description",
		Long: `Show a plugin's meta (GET .../bk_plugin/meta/) and the detail of each of its
versions (GET .../bk_plugin/detail/{version}). In the table, a required input
is marked with '*'; -o json prints the whole schemas and forms.`,
		Example: "  bkplugin versions hello\n  bkplugin versions hello -o json",
		Args:    exactArgs("CODE"),
		RunE: func(cmd *cobra.Command, args []string) error {
			code := args[0]
			c, err := g.client()
			if err != nil {
				return err
			}
			meta, err := c.Meta(cmd.Context(), code)
			if err != nil {
				return err
			}
			view := versionsView{Meta: *meta, Versions: []stdapi.Detail{}}
			for _, v := range meta.Versions {
				d, err := c.Detail(cmd.Context(), code, v)
				if err != nil {
					return err
				}
				view.Versions = append(view.Versions, *d)
			}
			if g.json() {
				return writeJSON(g.io.Out, view)
			}
			head := [][]string{
				{"PLUGIN", meta.Code},
				{"DESCRIPTION", orDash(meta.Description)},
				{"LANGUAGE", fmt.Sprintf("%s (framework %s)", orDash(meta.Language), orDash(meta.FrameworkVersion))},
			}
			if err := table(g.io.Out, head); err != nil {
				return err
			}
			fmt.Fprintln(g.io.Out)
			rows := [][]string{{"VERSION", "INPUTS", "CONTEXT", "OUTPUTS", "DESCRIPTION"}}
			for _, d := range view.Versions {
				rows = append(rows, []string{d.Version, schemaFields(d.Inputs), schemaFields(d.ContextInputs),
					schemaFields(d.Outputs), orDash(d.Desc)})
			}
			return table(g.io.Out, rows)
		},
	}
}
