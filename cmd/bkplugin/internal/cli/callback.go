package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

func newCallbackCommand(g *globals) *cobra.Command {
	var data, code string
	cmd := &cobra.Command{
		Use:   "callback URL|TOKEN",
		Short: "Deliver a callback to an invocation waiting in CALLBACK",
		Long: `Deliver callback data to an invocation, as the third party a plugin handed its
callback to would: either the full callback URL the plugin prepared, or its
signed token with --code (POST /plugins/{code}/bk_plugin/callback/{token}/).
The bearer token goes only to the --server host, never to another URL's.
A callback that arrives before the invocation waits for it is kept.`,
		Example: `  bkplugin callback http://shim:8080/plugins/callbacker/bk_plugin/callback/TOKEN/ --data '{"approved":true}'
  bkplugin callback TOKEN --code callbacker --data @result.json`,
		Args: exactArgs("URL|TOKEN"),
		RunE: func(cmd *cobra.Command, args []string) error {
			target := args[0]
			c, err := g.client()
			if err != nil {
				return err
			}
			body, err := readJSON("data", data, g.io.In, "{}", false)
			if err != nil {
				return err
			}
			isURL := strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://")
			switch {
			case isURL && code != "":
				return usagef("give either a callback URL or a token with --code, not both")
			case isURL:
				err = c.CallbackURL(cmd.Context(), target, body)
			case code == "":
				return usagef("%q is not an http(s) URL: a bare callback token needs --code CODE", target)
			default:
				err = c.Callback(cmd.Context(), code, target, body)
			}
			if err != nil {
				return err
			}
			if g.json() {
				return writeJSON(g.io.Out, map[string]bool{"delivered": true})
			}
			_, err = fmt.Fprintln(g.io.Out, "callback delivered")
			return err
		},
	}
	cmd.Flags().StringVar(&data, "data", "", "the callback data: JSON, @file or @- (default {})")
	cmd.Flags().StringVar(&code, "code", "", "the plugin's code, when the argument is a bare token")
	return cmd
}
