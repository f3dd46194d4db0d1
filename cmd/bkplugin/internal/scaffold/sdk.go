package scaffold

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"

	"golang.org/x/mod/modfile"
)

// BuiltFromCheckout returns the folder of the checkout of SDKModule this
// binary was built from, when it is known and still there: the compiler
// records this file's absolute path unless the build used -trimpath. A
// copy in the module cache does not count, since a published version is
// required by version, not replaced.
func BuiltFromCheckout() (string, bool) {
	_, file, _, ok := runtime.Caller(0)
	if !ok || !filepath.IsAbs(file) {
		return "", false
	}
	for dir := filepath.Dir(file); ; dir = filepath.Dir(dir) {
		if mod, err := readModule(dir); err == nil {
			if mod.Module == nil || mod.Module.Mod.Path != SDKModule || inModuleCache(dir) {
				return "", false
			}
			return dir, true
		}
		if parent := filepath.Dir(dir); parent == dir {
			return "", false
		}
	}
}

// BuildVersion returns the version of SDKModule this binary was built
// from when it is a published one (go install module@version), else "".
func BuildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok || info.Main.Path != SDKModule {
		return ""
	}
	v := info.Main.Version
	// "(devel)" and VCS-stamped pseudo-versions of a local build ("+dirty",
	// or any commit no proxy has) cannot be fetched.
	if v == "" || v == "(devel)" || strings.Contains(v, "+") || strings.HasPrefix(v, "v0.0.0-") {
		return ""
	}
	return v
}

// CheckCheckout verifies that dir holds a checkout of SDKModule with the
// SDK's packages, and returns its go.mod's go version.
func CheckCheckout(dir string) (string, error) {
	mod, err := readModule(dir)
	if err != nil {
		return "", fmt.Errorf("--sdk-replace %s: %w", dir, err)
	}
	if mod.Module == nil || mod.Module.Mod.Path != SDKModule {
		return "", fmt.Errorf("--sdk-replace %s: its go.mod is not module %s", dir, SDKModule)
	}
	if _, err := os.Stat(filepath.Join(dir, "sdk", "plugin")); err != nil {
		return "", fmt.Errorf("--sdk-replace %s: no sdk/plugin package there: %w", dir, err)
	}
	if mod.Go == nil {
		return "", nil
	}
	return mod.Go.Version, nil
}

func readModule(dir string) (*modfile.File, error) {
	name := filepath.Join(dir, "go.mod")
	data, err := os.ReadFile(name)
	if err != nil {
		return nil, err
	}
	mod, err := modfile.ParseLax(name, data, nil)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", name, err)
	}
	return mod, nil
}

func inModuleCache(dir string) bool {
	cache := os.Getenv("GOMODCACHE")
	if cache == "" {
		gopath := os.Getenv("GOPATH")
		if gopath == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return false
			}
			gopath = filepath.Join(home, "go")
		}
		cache = filepath.Join(strings.Split(gopath, string(os.PathListSeparator))[0], "pkg", "mod")
	}
	rel, err := filepath.Rel(cache, dir)
	return err == nil && !strings.HasPrefix(rel, "..")
}

// ErrNoGo is returned by Tidy when no go command is on PATH.
var ErrNoGo = errors.New("no go command on PATH")
