package cli

import (
	"errors"
	"fmt"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/bkplugin/bk-plugin-operator/cmd/bkplugin/internal/scaffold"
)

// initView is the JSON of `init`.
type initView struct {
	Dir        string   `json:"dir"`
	Module     string   `json:"module"`
	Code       string   `json:"code"`
	Package    string   `json:"package"`
	Files      []string `json:"files"`
	SDKReplace string   `json:"sdk_replace,omitempty"`
	SDKVersion string   `json:"sdk_version"`
	Tidied     bool     `json:"tidied"`
}

func newInitCommand(g *globals) *cobra.Command {
	var o scaffold.Options
	var noTidy bool
	checkout, fromCheckout := scaffold.BuiltFromCheckout()
	replaceHelp := "folder of a checkout of " + scaffold.SDKModule + " for go.mod's replace"
	if fromCheckout {
		replaceHelp += " (default: the checkout bkplugin was built from, " + checkout + "; --sdk-replace= for none)"
	} else {
		replaceHelp += " (required unless --sdk-version names a published version)"
	}
	cmd := &cobra.Command{
		Use:   "init MODULE_PATH",
		Short: "Write a new plugin project: code, test, main.go, Dockerfile, Makefile, README",
		Long: `Write a new plugin module: a plugin version with typed inputs and outputs
(sdk/plugin), a test of whole invocations (sdk/plugintest), main.go serving
it (sdk/server), a multi-stage Dockerfile into a distroless non-root image,
a Makefile (test, build, image, manifest) and a README. Then run
'go mod tidy' in it, so that it builds at once.

The SDK's module, ` + scaffold.SDKModule + `, is not published to a module
proxy, so go.mod replaces it with a local checkout (--sdk-replace); every
other dependency comes from the module proxy (GOPROXY).`,
		Example: `  bkplugin init example.com/team/greeter
  bkplugin init example.com/team/greeter --dir ./greeter --code greeter --sdk-replace ~/src/bk-plugin-operator
  cd greeter && make test && make manifest`,
		Args: exactArgs("MODULE_PATH"),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := g.checkOutput(); err != nil {
				return err
			}
			o.Module = args[0]
			if !cmd.Flags().Changed("sdk-replace") && fromCheckout && o.SDKVersion == "" {
				o.SDKReplace = checkout
			}
			if o.SDKReplace == "" && o.SDKVersion == "" {
				o.SDKVersion = scaffold.BuildVersion()
			}
			res, err := scaffold.Generate(o)
			if err != nil {
				return usagef("%w", err)
			}
			view := initView{Dir: res.Dir, Module: o.Module, Code: res.Code, Package: res.Package,
				Files: res.Files, SDKReplace: res.SDKReplace, SDKVersion: res.SDKVersion}
			if !noTidy {
				fmt.Fprintf(g.io.Err, "running go mod tidy in %s\n", res.Dir)
				switch err := scaffold.Tidy(cmd.Context(), res.Dir, g.io.Err); {
				case errors.Is(err, scaffold.ErrNoGo):
					fmt.Fprintf(g.io.Err, "no go command on PATH: run 'go mod tidy' in %s before building\n", res.Dir)
				case err != nil:
					return fmt.Errorf("%w; the project is written, fix the cause and run 'go mod tidy' there", err)
				default:
					view.Tidied = true
				}
			}
			if g.json() {
				return writeJSON(g.io.Out, view)
			}
			fmt.Fprintf(g.io.Out, "Created plugin %s in %s:\n", res.Code, res.Dir)
			for _, f := range res.Files {
				fmt.Fprintf(g.io.Out, "  %s\n", f)
			}
			if res.SDKReplace != "" {
				fmt.Fprintf(g.io.Out, "The SDK comes from %s (go.mod's replace).\n", res.SDKReplace)
			}
			rel := res.Dir
			if wd, err := filepath.Abs("."); err == nil {
				if r, err := filepath.Rel(wd, res.Dir); err == nil && len(r) < len(rel) {
					rel = r
				}
			}
			fmt.Fprintf(g.io.Out, "Next:\n  cd %s\n  make test                 # run the plugin's tests\n  make manifest            # print its PluginVersions\n  make image IMG=...       # build its image\n", rel)
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Dir, "dir", "", "folder to write the project in (default: the module path's last element)")
	f.StringVar(&o.Code, "code", "", "the plugin's code (default: the module path's last element)")
	f.StringVar(&o.Description, "description", "", "the plugin's description")
	f.StringVar(&o.SDKReplace, "sdk-replace", "", replaceHelp)
	f.StringVar(&o.SDKVersion, "sdk-version", "", "require this published version of the SDK module instead of replacing it")
	f.BoolVar(&noTidy, "no-tidy", false, "do not run go mod tidy (go.sum is then missing until you do)")
	return cmd
}
