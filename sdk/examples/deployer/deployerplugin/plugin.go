// Package deployerplugin is the deployer example plugin, described by a
// BK-CI task.json (task.json next to this file) rather than by Go tags. Its
// behaviour is a contract that the demo and the end-to-end checks rely on:
//
//   - 1.0.0: inputs version (required, three-part semver), env (dev or
//     prod, required), approver (required when env is prod), token
//     (required, sensitive); SUCCESS at once with outputs deploy_id
//     ("deploy-" and the first 8 characters of the trace id) and report
//     (an HTML summary). Inputs that break the task.json end FAIL before
//     Execute runs, naming every offending field.
//
// The token is never echoed: not in outputs, logs or errors.
package deployerplugin

import (
	_ "embed"
	"fmt"
	"html"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// Code is the plugin's code.
const Code = "deployer"

// taskJSON is the 1.0.0 description, shipped next to the code as BK-CI
// plugins ship theirs.
//
//go:embed task.json
var taskJSON []byte

// Inputs of deployer 1.0.0, as the task.json describes them; the struct
// only decodes them, the task.json validates them.
type Inputs struct {
	Version  string `json:"version"`
	Env      string `json:"env"`
	Approver string `json:"approver,omitempty"`
	Token    string `json:"token"`
}

// Outputs of deployer 1.0.0.
type Outputs struct {
	DeployID string `json:"deploy_id"`
	Report   string `json:"report"`
}

// Plugin returns a new deployer plugin.
func Plugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: Code, Description: "Deploys a version to an environment."})
	plugin.MustAddVersion(p, plugin.Version[Inputs, plugin.None, Outputs]{
		Version:     "1.0.0",
		Description: "Deploys a version to dev, or to prod with an approver.",
		TaskJSON:    taskjson.MustParse(taskJSON),
		Execute: func(ctx *plugin.Context[Inputs, plugin.None, Outputs]) error {
			in := ctx.Inputs
			id := ctx.TraceID
			if len(id) > 8 {
				id = id[:8]
			}
			ctx.Outputs.DeployID = "deploy-" + id
			ctx.Outputs.Report = report(ctx.Outputs.DeployID, in)
			ctx.Log.Info("deployed", "version", in.Version, "env", in.Env, "deploy_id", ctx.Outputs.DeployID)
			return nil
		},
	})
	return p
}

func report(id string, in Inputs) string {
	approved := ""
	if in.Env == "prod" {
		approved = fmt.Sprintf("<p>Approved by %s.</p>", html.EscapeString(in.Approver))
	}
	return fmt.Sprintf("<h1>Deployment %s</h1><p>Version %s to %s.</p>%s",
		html.EscapeString(id), html.EscapeString(in.Version), html.EscapeString(in.Env), approved)
}
