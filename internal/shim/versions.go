package shim

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/versions"
	"github.com/bkplugin/bk-plugin-operator/sdk/plugin"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// versionService answers what the standard API knows about plugins from the
// cached PluginVersions of the namespace.
type versionService struct {
	reader    client.Reader
	namespace string
	// runtimeVersion is meta's runtime_version: the shim serves the API, so
	// the shim's build is the runtime.
	runtimeVersion string
}

// list returns the versions of plugin code, or 404 when it has none.
//
// They are the informer cache's own objects (client.UnsafeDisableDeepCopy,
// as the manager's listVersions): every invoke, schedule and detail
// resolves a version, and deep-copying each version's schemas and
// task.json for it was a copy per version per request. Nothing in the
// shim writes to a PluginVersion it got here: resolving, scope checks,
// the compiled-schema cache, task.json checks, the execute request and
// the meta/detail answers only read them (allowScopeMap clones what it
// hands out), and TestVersionServiceLeavesCacheAlone checks it. Code that
// needs to change one must DeepCopy it first.
func (v *versionService) list(ctx context.Context, code string) ([]bkv1.PluginVersion, error) {
	var list bkv1.PluginVersionList
	if err := v.reader.List(ctx, &list, client.InNamespace(v.namespace),
		client.MatchingFields{versions.IndexPluginVersionPlugin: code}, client.UnsafeDisableDeepCopy); err != nil {
		return nil, kubeErr(err, "list versions of plugin %s", code)
	}
	if len(list.Items) == 0 {
		return nil, errorf(http.StatusNotFound, "plugin %s not found", code)
	}
	return list.Items, nil
}

// resolve returns the PluginVersion of code that serves requested (an exact
// version or a semver constraint) for a call without a trace id: a range
// resolves past a canary's share.
func (v *versionService) resolve(ctx context.Context, code, requested string) (*bkv1.PluginVersion, error) {
	return v.resolveFor(ctx, code, requested, "")
}

// resolveFor returns the PluginVersion of code that serves requested for
// the invocation traceID, as the manager will resolve it: the trace id
// decides a canary's share (versions.Resolve).
func (v *versionService) resolveFor(ctx context.Context, code, requested, traceID string) (*bkv1.PluginVersion, error) {
	all, err := v.list(ctx, code)
	if err != nil {
		return nil, err
	}
	plv, err := versions.Resolve(all, versions.Request{Plugin: code, Version: requested, TraceID: traceID})
	switch {
	case errors.Is(err, versions.ErrNoMatchingVersion):
		return nil, errorf(http.StatusNotFound, "plugin %s has no version %s", code, requested)
	case err != nil:
		// Only a constraint that does not parse gets here.
		return nil, errorf(http.StatusBadRequest, "plugin %s: %v", code, err)
	}
	return plv, nil
}

// plugins lists every plugin of the namespace with its versions.
func (v *versionService) plugins(ctx context.Context) (stdapi.PluginList, error) {
	var list bkv1.PluginVersionList
	// The cache's own objects, only read (see list).
	if err := v.reader.List(ctx, &list, client.InNamespace(v.namespace), client.UnsafeDisableDeepCopy); err != nil {
		return stdapi.PluginList{}, kubeErr(err, "list plugin versions")
	}
	byCode := map[string][]bkv1.PluginVersion{}
	for _, plv := range list.Items {
		byCode[plv.Spec.Plugin] = append(byCode[plv.Spec.Plugin], plv)
	}
	out := stdapi.PluginList{Results: []stdapi.PluginSummary{}}
	for code, plvs := range byCode {
		out.Results = append(out.Results, stdapi.PluginSummary{Code: code, Versions: sortedVersions(plvs)})
	}
	slices.SortFunc(out.Results, func(a, b stdapi.PluginSummary) int { return strings.Compare(a.Code, b.Code) })
	out.Count = len(out.Results)
	return out, nil
}

// meta builds a plugin's meta: the plugin-level description and allow_scope
// of the newest version (the SDK writes the plugin's on every version),
// versions newest first, and this operator's framework fields: the Go SDK's
// version and the shim's build.
func (v *versionService) meta(ctx context.Context, code string) (stdapi.Meta, error) {
	all, err := v.list(ctx, code)
	if err != nil {
		return stdapi.Meta{}, err
	}
	newest := newestVersion(all)
	desc := newest.Spec.PluginDescription
	if desc == "" {
		// A PluginVersion written by hand may not carry the plugin's
		// description; its own is the best there is.
		desc = newest.Spec.Description
	}
	vs := sortedVersions(all)
	slices.Reverse(vs)
	return stdapi.Meta{
		Code:             code,
		Description:      desc,
		Versions:         vs,
		Language:         "go",
		FrameworkVersion: plugin.FrameworkVersion,
		RuntimeVersion:   v.runtimeVersion,
		AllowScope:       stdapi.AllowScopeOrEmpty(allowScopeMap(newest.Spec.AllowScopes)),
	}, nil
}

// detail builds the detail of the version of code that requested resolves to.
func (v *versionService) detail(ctx context.Context, code, requested string) (stdapi.Detail, error) {
	plv, err := v.resolve(ctx, code, requested)
	if err != nil {
		return stdapi.Detail{}, err
	}
	d := stdapi.Detail{
		Version:              plv.Spec.Version,
		Desc:                 plv.Spec.Description,
		Inputs:               schemaOrEmpty(plv.Spec.Inputs),
		ContextInputs:        schemaOrEmpty(plv.Spec.ContextInputs),
		Outputs:              schemaOrEmpty(plv.Spec.Outputs),
		EnablePluginCallback: plv.Spec.EnablePluginCallback,
	}
	if plv.Spec.TaskJSON != nil {
		// The description as written, beside the schemas, so a platform
		// can render BK-CI's form.
		if b, err := json.Marshal(plv.Spec.TaskJSON); err == nil {
			d.TaskJSON = b
		}
	}
	if plv.Spec.Forms != nil && len(plv.Spec.Forms.Raw) > 0 {
		// The CRD admits any object here; a renderform that is not a string
		// is not one a platform could render, so it is left out.
		var forms struct {
			Renderform any `json:"renderform"`
		}
		if json.Unmarshal(plv.Spec.Forms.Raw, &forms) == nil {
			if s, ok := forms.Renderform.(string); ok {
				d.Forms.Renderform = s
			}
		}
	}
	return d, nil
}

// schemaOrEmpty answers a stored schema in detail's shape
// (stdapi.DetailSchema): the empty object schema for one the version does
// not declare, as the Python framework answers.
func schemaOrEmpty(j *apiextensionsv1.JSON) json.RawMessage {
	if j == nil || len(j.Raw) == 0 || string(j.Raw) == "null" {
		return stdapi.EmptySchema
	}
	return stdapi.DetailSchema(j.Raw)
}

// sortedVersions returns the distinct versions of plvs, oldest first by
// semver precedence.
func sortedVersions(plvs []bkv1.PluginVersion) []string {
	var out []string
	for _, plv := range plvs {
		if !slices.Contains(out, plv.Spec.Version) {
			out = append(out, plv.Spec.Version)
		}
	}
	slices.SortFunc(out, compareVersions)
	return out
}

func compareVersions(a, b string) int {
	va, errA := semver.StrictNewVersion(a)
	vb, errB := semver.StrictNewVersion(b)
	if errA != nil || errB != nil {
		return strings.Compare(a, b)
	}
	return va.Compare(vb)
}

// newestVersion returns the PluginVersion with the highest version; plvs is
// not empty.
func newestVersion(plvs []bkv1.PluginVersion) *bkv1.PluginVersion {
	best := &plvs[0]
	for i := range plvs[1:] {
		if compareVersions(plvs[i+1].Spec.Version, best.Spec.Version) > 0 {
			best = &plvs[i+1]
		}
	}
	return best
}

// allowScopeMap turns AllowScopes into meta's allow_scope. The Python
// framework maps one app to one scope; a rule for every app (no app code) has
// no key there and is left out.
func allowScopeMap(rules []bkv1.AllowScope) map[string]stdapi.AllowedScope {
	if len(rules) == 0 {
		return nil
	}
	out := map[string]stdapi.AllowedScope{}
	for _, r := range rules {
		if r.AppCode == "" {
			continue
		}
		if _, seen := out[r.AppCode]; seen {
			continue
		}
		out[r.AppCode] = stdapi.AllowedScope{Type: r.ScopeType, Value: slices.Clone(r.ScopeValues)}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
