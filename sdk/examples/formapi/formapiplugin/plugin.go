// Package formapiplugin is an example plugin whose form loads remote data
// through plugin APIs, as bk-sops forms do: a select box filled by a GET
// with a query (bk-sops sends ".../hosts/?biz_cc_id=2") and a file upload
// (bk-sops sends multipart with dumped_data and the file). It also serves
// an open and a private API, the Python framework 2.3's other families.
package formapiplugin

import (
	"io"
	"net/http"
	"strconv"

	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
)

// Code is the plugin's code.
const Code = "formapi"

// maxUploadBytes bounds an upload this example reads.
const maxUploadBytes = 1 << 20

// Inputs are what the form fills in.
type Inputs struct {
	Host string `json:"host" jsonschema:"title=Host,description=A host chosen from the hosts API"`
}

// Context is what the platform passes about the task.
type Context struct {
	BizID int `json:"biz_id" jsonschema:"title=Business id"`
}

// Outputs say what was chosen.
type Outputs struct {
	Chosen string `json:"chosen" jsonschema:"title=Chosen host"`
}

// Host is one entry of the hosts API.
type Host struct {
	ID   string `json:"id"`
	Text string `json:"text"`
}

// Plugin builds the plugin.
func Plugin() *plugin.Plugin {
	p := plugin.MustNew(plugin.Meta{Code: Code, Description: "Chooses a host from a list its form loads, and takes uploaded host lists."})
	plugin.MustAddVersion(p, plugin.Version[Inputs, Context, Outputs]{
		Version:     "1.0.0",
		Description: "Reports the chosen host.",
		Execute: func(ctx *plugin.Context[Inputs, Context, Outputs]) error {
			ctx.Outputs.Chosen = ctx.Inputs.Host + " of business " + strconv.Itoa(ctx.ContextInputs.BizID)
			return nil
		},
	})
	// GET hosts/?biz_cc_id=2: the hosts of a business, for a select box.
	p.HandleAPIFunc("GET hosts/", func(w http.ResponseWriter, r *http.Request) {
		biz := r.URL.Query().Get("biz_cc_id")
		if biz == "" {
			plugin.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "biz_cc_id is required"})
			return
		}
		plugin.WriteJSON(w, http.StatusOK, map[string]any{
			"user":  plugin.Username(r),
			"hosts": []Host{{ID: biz + "-1", Text: "host 1 of business " + biz}, {ID: biz + "-2", Text: "host 2 of business " + biz}},
		})
	})
	// POST upload/: a multipart upload of a host list; answers what came.
	p.HandleAPIFunc("POST upload/", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(maxUploadBytes); err != nil {
			plugin.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "want a multipart form: " + err.Error()})
			return
		}
		f, fh, err := r.FormFile("file")
		if err != nil {
			plugin.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": "want a file in field file"})
			return
		}
		defer f.Close()
		content, err := io.ReadAll(io.LimitReader(f, maxUploadBytes))
		if err != nil {
			plugin.WriteJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		fields := map[string]string{}
		for k, vs := range r.MultipartForm.Value {
			fields[k] = vs[0]
		}
		plugin.WriteJSON(w, http.StatusOK, map[string]any{
			"user": plugin.Username(r), "file_name": fh.Filename, "content": string(content), "fields": fields,
		})
	})
	// The open and private families answer who called.
	who := func(w http.ResponseWriter, r *http.Request) {
		plugin.WriteJSON(w, http.StatusOK, map[string]string{"app": plugin.AppCode(r), "user": plugin.Username(r)})
	}
	p.HandleOpenAPI("GET ping/", http.HandlerFunc(who))
	p.HandlePrivateAPI("GET ping/", http.HandlerFunc(who))
	return p
}
