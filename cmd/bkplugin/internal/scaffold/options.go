package scaffold

import (
	"fmt"
	"path"
	"regexp"
	"strings"

	"golang.org/x/mod/module"
)

// SDKModule is the module that holds the SDK: this repository's module.
const SDKModule = "github.com/bkplugin/bk-plugin-operator"

// UnpublishedVersion is the version a replaced SDK is required at: the
// placeholder `go mod edit -replace` uses for a module no proxy serves.
const UnpublishedVersion = "v0.0.0-00010101000000-000000000000"

// codePattern is the SDK's rule for plugin codes (sdk/plugin.Meta.Code):
// usable in Kubernetes object names and labels.
var codePattern = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$`)

// Options say what to generate.
type Options struct {
	// Module is the new plugin's module path, such as
	// "example.com/team/greeter".
	Module string
	// Dir is where the project is written; it must not hold any of the
	// files generated. Empty means the module path's last element.
	Dir string
	// Code is the plugin's code; empty means the module path's last
	// element, lower-cased.
	Code string
	// Description is the plugin's description.
	Description string
	// SDKReplace is the folder of a checkout of SDKModule that go.mod's
	// replace points at; empty means no replace (SDKVersion is then
	// fetched from the module proxy). Made absolute by Generate.
	SDKReplace string
	// SDKVersion is the version of SDKModule to require; empty means
	// UnpublishedVersion with a replace, and is an error without one.
	SDKVersion string
	// GoVersion is go.mod's go line; empty means the SDK checkout's, or
	// the running toolchain's.
	GoVersion string
}

// project is the data the templates see.
type project struct {
	Module, Code, Description, Package string
	SDKModule, SDKVersion, SDKReplace  string
	GoVersion, GoMinor                 string
	// dir is the default project folder: the module path's last element
	// before any major-version suffix.
	dir string
}

// resolve checks o and fills in its defaults.
func (o Options) resolve() (project, error) {
	if err := module.CheckPath(o.Module); err != nil {
		return project{}, fmt.Errorf("module path %q: %w (want something like example.com/team/greeter)", o.Module, err)
	}
	if o.Module == SDKModule || strings.HasPrefix(o.Module, SDKModule+"/") {
		return project{}, fmt.Errorf("module path %q is inside the SDK's own module %s: choose your own", o.Module, SDKModule)
	}
	last := path.Base(o.Module)
	if major := regexp.MustCompile(`^v[0-9]+$`); major.MatchString(last) && path.Dir(o.Module) != "." {
		last = path.Base(path.Dir(o.Module)) // example.com/greeter/v2 -> greeter
	}
	code := o.Code
	if code == "" {
		code = strings.ToLower(strings.ReplaceAll(last, "_", "-"))
	}
	if !codePattern.MatchString(code) {
		return project{}, fmt.Errorf("plugin code %q: want lower-case letters, digits and '-', at most 40 characters, starting and ending with a letter or digit (set it with --code)", code)
	}
	p := project{
		Module:      o.Module,
		Code:        code,
		Description: o.Description,
		Package:     packageName(code),
		SDKModule:   SDKModule,
		SDKVersion:  o.SDKVersion,
		SDKReplace:  o.SDKReplace,
		GoVersion:   o.GoVersion,
		dir:         last,
	}
	if p.Description == "" {
		p.Description = "The " + code + " plugin."
	}
	if strings.ContainsAny(p.Description, "\"\\\n`") {
		return project{}, fmt.Errorf("description %q: quotes, backslashes, backticks and new lines are not allowed", p.Description)
	}
	if p.SDKReplace == "" && p.SDKVersion == "" {
		return project{}, fmt.Errorf("no SDK to depend on: %s is not published to a module proxy, so give --sdk-replace PATH (a checkout of it) or --sdk-version VERSION (a published version)", SDKModule)
	}
	if p.SDKVersion == "" {
		p.SDKVersion = UnpublishedVersion
	}
	if err := module.Check(SDKModule, p.SDKVersion); err != nil {
		return project{}, fmt.Errorf("SDK version: %w", err)
	}
	return p, nil
}

// packageName turns a plugin code into the Go package of its plugin code,
// as sdk/examples names helloplugin: "my-greeter" -> "mygreeterplugin".
func packageName(code string) string {
	name := strings.ReplaceAll(code, "-", "")
	if name[0] >= '0' && name[0] <= '9' {
		name = "p" + name
	}
	return name + "plugin"
}
