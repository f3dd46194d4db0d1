package plugin

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"

	"github.com/Masterminds/semver/v3"

	"github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/schema"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
	"github.com/bkplugin/bk-plugin-operator/sdk/taskjson"
)

// FrameworkVersion is the version of this SDK, answered in meta as
// framework_version.
const FrameworkVersion = "0.1.0"

// ErrUnknownVersion is returned for a version the plugin does not have.
var ErrUnknownVersion = errors.New("unknown plugin version")

// codePattern keeps codes usable in Kubernetes object names and labels,
// where the SDK's manifests put them.
var codePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$`)

// Meta is the plugin-level metadata, the Python framework's meta.py.
type Meta struct {
	// Code identifies the plugin, such as "sops-exec": lower-case letters,
	// digits and '-', at most 40 characters.
	Code string
	// Description describes the plugin.
	Description string
	// AllowScope restricts which scopes each calling app may invoke the
	// plugin with (keyed by app code); apps not listed are not restricted.
	AllowScope map[string]stdapi.AllowedScope
}

// Plugin is a plugin and its versions. Build it with New and AddVersion
// before serving it; it is safe for concurrent use once built.
type Plugin struct {
	meta     Meta
	versions map[string]*entry
	order    []string // semver ascending
	apis     *http.ServeMux
}

// entry is one registered version: its description for meta and detail,
// its schemas compiled once, and the typed code behind it.
type entry struct {
	info    VersionInfo
	inputs  *schema.Schema
	context *schema.Schema
	task    *taskjson.Evaluator // nil without a task.json
	// sensitive names the inputs the task.json marks isSensitive, whose
	// values are redacted from the execute's logs and error.
	sensitive []string
	run       runFunc
	cancel    cancelFunc // nil without an OnCancel hook
}

// VersionInfo describes a registered version, as detail answers it and as
// the version's PluginVersion manifest records it.
type VersionInfo struct {
	// Version is the semver version, such as "1.0.0".
	Version string
	// Description describes the version.
	Description string
	// Inputs, ContextInputs and Outputs are the version's JSON Schemas.
	Inputs, ContextInputs, Outputs json.RawMessage
	// Form is the version's form.js (renderform), or "".
	Form string
	// TaskJSON is the version's task.json description, or nil. Callers
	// must not modify it: it is the one the version enforces.
	TaskJSON *v1alpha1.TaskDescription
	// EnablePluginCallback is the version's finish-callback mode (see
	// Version.EnablePluginCallback).
	EnablePluginCallback bool
}

// Detail returns the version in the shape of the standard API's detail answer.
func (v VersionInfo) Detail() stdapi.Detail {
	var task json.RawMessage
	if v.TaskJSON != nil {
		// A description that Check accepted always encodes: its raw
		// values are valid JSON.
		task, _ = json.Marshal(v.TaskJSON)
	}
	return stdapi.Detail{
		TaskJSON:             task,
		Version:              v.Version,
		Desc:                 v.Description,
		Inputs:               stdapi.DetailSchema(v.Inputs),
		ContextInputs:        stdapi.DetailSchema(v.ContextInputs),
		Outputs:              stdapi.DetailSchema(v.Outputs),
		Forms:                stdapi.Forms{Renderform: v.Form},
		EnablePluginCallback: v.EnablePluginCallback,
	}
}

// New returns a plugin without versions. It fails when the code is not
// usable as a plugin code.
func New(meta Meta) (*Plugin, error) {
	if !codePattern.MatchString(meta.Code) {
		return nil, fmt.Errorf("plugin code %q: want 1-40 lower-case letters, digits or '-', starting and ending with a letter or digit", meta.Code)
	}
	for app, sc := range meta.AllowScope {
		if app == "" || sc.Type == "" {
			return nil, fmt.Errorf("plugin %s: allow_scope entries need an app code and a scope type", meta.Code)
		}
	}
	return &Plugin{meta: meta, versions: map[string]*entry{}, apis: http.NewServeMux()}, nil
}

// MustNew is New for package-level plugin definitions; it panics on error.
func MustNew(meta Meta) *Plugin {
	p, err := New(meta)
	if err != nil {
		panic(err)
	}
	return p
}

// Meta returns the plugin's metadata.
func (p *Plugin) Meta() Meta { return p.meta }

// MetaAnswer returns the plugin's meta in the shape of the standard API.
func (p *Plugin) MetaAnswer(runtimeVersion string) stdapi.Meta {
	return stdapi.Meta{
		Code:             p.meta.Code,
		Description:      p.meta.Description,
		Versions:         newestFirst(p.order),
		Language:         "go",
		FrameworkVersion: FrameworkVersion,
		RuntimeVersion:   runtimeVersion,
		AllowScope:       stdapi.AllowScopeOrEmpty(p.meta.AllowScope),
	}
}

// newestFirst returns the versions in order (semver ascending) newest first,
// the order meta answers: bk-sops takes versions[0] as the latest.
func newestFirst(order []string) []string {
	out := slices.Clone(order)
	slices.Reverse(out)
	return out
}

// Versions returns the registered versions, oldest first.
func (p *Plugin) Versions() []VersionInfo {
	out := make([]VersionInfo, 0, len(p.order))
	for _, v := range p.order {
		out = append(out, p.versions[v].info)
	}
	return out
}

// Version returns the registered version v.
func (p *Plugin) Version(v string) (VersionInfo, bool) {
	e, ok := p.versions[v]
	if !ok {
		return VersionInfo{}, false
	}
	return e.info, true
}

// register adds a version once its schemas are built.
func (p *Plugin) register(e *entry) error {
	v := e.info.Version
	parsed, err := semver.StrictNewVersion(v)
	if err != nil {
		return fmt.Errorf("plugin %s: version %q is not a semantic version such as 1.0.0: %w", p.meta.Code, v, err)
	}
	if parsed.Metadata() != "" {
		// Versions are label values and object names, where "+" is not allowed.
		return fmt.Errorf("plugin %s: version %q has build metadata; use a pre-release such as 1.0.0-rc.1 instead", p.meta.Code, v)
	}
	if _, dup := p.versions[v]; dup {
		return fmt.Errorf("plugin %s: version %s is registered twice", p.meta.Code, v)
	}
	p.versions[v] = e
	i, _ := slices.BinarySearchFunc(p.order, parsed, func(have string, want *semver.Version) int {
		return semver.MustParse(have).Compare(want)
	})
	p.order = slices.Insert(p.order, i, v)
	return nil
}

// Alias the protocol's names so that plugin code imports one package.
type (
	// State is the state of an invocation.
	State = protocol.State
	// PreparedCallback is a callback handed to a third party: its ID comes
	// back with the callback, and the third party posts to its URL.
	PreparedCallback = protocol.PreparedCallback
)

// States an invocation goes through; see protocol.State.
const (
	StateEmpty    = protocol.StateEmpty
	StatePoll     = protocol.StatePoll
	StateCallback = protocol.StateCallback
	StateSuccess  = protocol.StateSuccess
	StateFail     = protocol.StateFail
)
