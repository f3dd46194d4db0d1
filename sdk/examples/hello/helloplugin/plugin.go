// Package helloplugin is the hello example plugin: it greets, at once. Its
// behaviour is a contract that the demo and the end-to-end checks rely on:
//
//   - 1.0.0: input name (string, required); SUCCESS with output greeting
//     "Hello, <name>!".
//   - 1.1.0: adds the optional input punctuation (default "!"), used
//     instead of the "!".
//
// It also serves a plugin API, GET /bk_plugin/plugin_api/punctuations, the
// data source of the 1.1.0 form's select box.
package helloplugin

import (
	"net/http"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// Code is the plugin's code.
const Code = "hello"

// Inputs of hello 1.0.0.
type Inputs struct {
	Name string `json:"name" jsonschema:"title=Name,description=Who to greet"`
}

// InputsV1_1 are the inputs of hello 1.1.0.
type InputsV1_1 struct {
	Name        string `json:"name" jsonschema:"title=Name,description=Who to greet"`
	Punctuation string `json:"punctuation" jsonschema:"title=Punctuation,description=Ends the greeting,default=!"`
}

// Outputs of every hello version.
type Outputs struct {
	Greeting string `json:"greeting" jsonschema:"title=Greeting"`
}

// form11 is the 1.1.0 form: a text box and a select box fed by the
// punctuations plugin API.
const form11 = `(function () {
    $.atoms["hello"] = [
        {"type": "input", "attrs": {"name": "Name", "validation": [{"type": "required"}]}, "tag_code": "name"},
        {"type": "select", "attrs": {"name": "Punctuation", "default": "!",
            "remote_url": $.context.bk_plugin_api_host["hello"] + "bk_plugin/plugin_api/punctuations"},
         "tag_code": "punctuation"}
    ]
})();
`

// Plugin returns a new hello plugin with both versions.
func Plugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: Code, Description: "Greets someone by name."})
	plugin.MustAddVersion(p, plugin.Version[Inputs, plugin.None, Outputs]{
		Version:     "1.0.0",
		Description: "Greets name with an exclamation mark.",
		Execute: func(ctx *plugin.Context[Inputs, plugin.None, Outputs]) error {
			ctx.Outputs.Greeting = "Hello, " + ctx.Inputs.Name + "!"
			ctx.Log.Info("greeted", "name", ctx.Inputs.Name)
			return nil
		},
	})
	plugin.MustAddVersion(p, plugin.Version[InputsV1_1, plugin.None, Outputs]{
		Version:     "1.1.0",
		Description: "Greets name, ending with the chosen punctuation.",
		Form:        form11,
		Execute: func(ctx *plugin.Context[InputsV1_1, plugin.None, Outputs]) error {
			ctx.Outputs.Greeting = "Hello, " + ctx.Inputs.Name + ctx.Inputs.Punctuation
			return nil
		},
	})
	p.HandleAPIFunc("GET punctuations", func(w http.ResponseWriter, _ *http.Request) {
		plugin.WriteJSON(w, http.StatusOK, []map[string]string{
			{"text": "exclamation mark", "value": "!"},
			{"text": "full stop", "value": "."},
			{"text": "question mark", "value": "?"},
		})
	})
	return p
}
