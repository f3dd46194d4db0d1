// Package scaffold writes a new plugin module from templates: the plugin
// code with typed inputs and outputs, a plugintest test, main.go, a
// Dockerfile, a Makefile and a README, with a go.mod that requires the SDK
// (replaced by a local checkout while the SDK is not published).
package scaffold

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"text/template"
)

// templates holds one template per generated file. Go files and go.mod end
// in .tmpl so that the go command neither compiles them nor sees a module.
//
//go:embed templates
var templates embed.FS

// files maps each template to the file it becomes; "pkg/" is the plugin's
// package folder.
var files = []struct{ tmpl, out string }{
	{"go.mod.tmpl", "go.mod"},
	{"main.go.tmpl", "main.go"},
	{"pkg/plugin.go.tmpl", "pkg/plugin.go"},
	{"pkg/plugin_test.go.tmpl", "pkg/plugin_test.go"},
	{"Dockerfile.tmpl", "Dockerfile"},
	{"Makefile.tmpl", "Makefile"},
	{"README.md.tmpl", "README.md"},
	{"gitignore.tmpl", ".gitignore"},
	{"dockerignore.tmpl", ".dockerignore"},
}

// Result says what Generate wrote.
type Result struct {
	// Dir is the project's folder, absolute.
	Dir string
	// Code is the plugin's code and Package its Go package.
	Code, Package string
	// Files are the files written, relative to Dir.
	Files []string
	// SDKReplace and SDKVersion are what go.mod says of the SDK.
	SDKReplace, SDKVersion string
}

// Generate writes the project that opts describe. It refuses to overwrite
// any file, and writes nothing when it refuses.
func Generate(opts Options) (*Result, error) {
	if opts.SDKReplace != "" {
		abs, err := filepath.Abs(opts.SDKReplace)
		if err != nil {
			return nil, fmt.Errorf("--sdk-replace %s: %w", opts.SDKReplace, err)
		}
		opts.SDKReplace = abs
		goVersion, err := CheckCheckout(abs)
		if err != nil {
			return nil, err
		}
		if opts.GoVersion == "" {
			opts.GoVersion = goVersion
		}
	}
	if opts.GoVersion == "" {
		opts.GoVersion = strings.TrimPrefix(runtime.Version(), "go")
	}
	p, err := opts.resolve()
	if err != nil {
		return nil, err
	}
	p.GoMinor = goMinor(p.GoVersion)
	dir := opts.Dir
	if dir == "" {
		dir = p.dir
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("project folder: %w", err)
	}

	// Render everything first, so that a template error or an existing
	// file leaves nothing half-written.
	rendered := make(map[string][]byte, len(files))
	var names []string
	for _, f := range files {
		out := strings.Replace(f.out, "pkg/", p.Package+"/", 1)
		body, err := render(f.tmpl, p)
		if err != nil {
			return nil, err
		}
		if _, err := os.Lstat(filepath.Join(dir, out)); err == nil {
			return nil, fmt.Errorf("%s already exists: bkplugin init writes only new files (choose another --dir)", filepath.Join(dir, out))
		} else if !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("check %s: %w", filepath.Join(dir, out), err)
		}
		rendered[out] = body
		names = append(names, out)
	}
	for _, name := range names {
		target := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return nil, fmt.Errorf("create %s: %w", filepath.Dir(target), err)
		}
		if err := os.WriteFile(target, rendered[name], 0o644); err != nil {
			return nil, fmt.Errorf("write %s: %w", target, err)
		}
	}
	return &Result{Dir: dir, Code: p.Code, Package: p.Package, Files: names, SDKReplace: p.SDKReplace, SDKVersion: p.SDKVersion}, nil
}

func render(name string, p project) ([]byte, error) {
	t, err := template.New(filepath.Base(name)).Option("missingkey=error").ParseFS(templates, "templates/"+name)
	if err != nil {
		return nil, fmt.Errorf("parse template %s: %w", name, err)
	}
	var buf bytes.Buffer
	if err := t.Execute(&buf, p); err != nil {
		return nil, fmt.Errorf("render template %s: %w", name, err)
	}
	return buf.Bytes(), nil
}

// goMinor turns "1.26.8" into "1.26", the golang image tag that follows
// patch releases.
func goMinor(v string) string {
	parts := strings.SplitN(v, ".", 3)
	if len(parts) < 2 {
		return v
	}
	return parts[0] + "." + parts[1]
}

// Tidy runs `go mod tidy` in dir, which resolves the SDK's dependencies and
// writes go.sum, so that the project builds at once. The module proxy
// serves every dependency but the SDK, which the replace supplies.
// -mod=mod lets the go command update go.mod and go.sum.
func Tidy(ctx context.Context, dir string, stderr io.Writer) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return ErrNoGo
	}
	cmd := exec.CommandContext(ctx, goBin, "mod", "tidy")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS="+strings.TrimSpace(os.Getenv("GOFLAGS")+" -mod=mod"))
	cmd.Stdout = stderr
	cmd.Stderr = stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go mod tidy in %s: %w", dir, err)
	}
	return nil
}
