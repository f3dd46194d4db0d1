package scaffold

import (
	"bytes"
	"go/format"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/mod/modfile"
)

// repoRoot is this checkout, which holds the SDK.
func repoRoot(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs("../../../..")
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func TestGenerateWritesAFormattedProject(t *testing.T) {
	root := repoRoot(t)
	dir := filepath.Join(t.TempDir(), "greeter")
	res, err := Generate(Options{Module: "example.com/team/my-greeter", Dir: dir, SDKReplace: root})
	if err != nil {
		t.Fatal(err)
	}
	if res.Code != "my-greeter" || res.Package != "mygreeterplugin" {
		t.Errorf("code, package = %q, %q; want my-greeter, mygreeterplugin", res.Code, res.Package)
	}
	want := []string{"go.mod", "main.go", "mygreeterplugin/plugin.go", "mygreeterplugin/plugin_test.go",
		"Dockerfile", "Makefile", "README.md", ".gitignore", ".dockerignore"}
	if strings.Join(res.Files, " ") != strings.Join(want, " ") {
		t.Errorf("files = %v, want %v", res.Files, want)
	}
	for _, name := range want {
		body, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.Contains(body, []byte("<no value>")) || bytes.Contains(body, []byte("{{")) {
			t.Errorf("%s has an unrendered template value:\n%s", name, body)
		}
		if strings.HasSuffix(name, ".go") {
			formatted, err := format.Source(body)
			if err != nil {
				t.Errorf("%s does not parse: %v\n%s", name, err, body)
			} else if !bytes.Equal(formatted, body) {
				t.Errorf("%s is not gofmt'd:\n%s", name, body)
			}
		}
	}

	data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	mod, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatalf("go.mod does not parse: %v\n%s", err, data)
	}
	if mod.Module.Mod.Path != "example.com/team/my-greeter" {
		t.Errorf("module = %q", mod.Module.Mod.Path)
	}
	if len(mod.Require) != 1 || mod.Require[0].Mod.Path != SDKModule || mod.Require[0].Mod.Version != UnpublishedVersion {
		t.Errorf("require = %+v, want %s %s", mod.Require, SDKModule, UnpublishedVersion)
	}
	if len(mod.Replace) != 1 || mod.Replace[0].New.Path != root {
		t.Errorf("replace = %+v, want %s => %s", mod.Replace, SDKModule, root)
	}
	sdkMod, err := readModule(root)
	if err != nil {
		t.Fatal(err)
	}
	if mod.Go.Version != sdkMod.Go.Version {
		t.Errorf("go %s, want the SDK's go %s", mod.Go.Version, sdkMod.Go.Version)
	}

	dockerfile, _ := os.ReadFile(filepath.Join(dir, "Dockerfile"))
	for _, want := range []string{"AS builder", "FROM gcr.io/distroless/static:nonroot", "USER 65532:65532", "-mod=vendor"} {
		if !bytes.Contains(dockerfile, []byte(want)) {
			t.Errorf("Dockerfile lacks %q", want)
		}
	}
	makefile, _ := os.ReadFile(filepath.Join(dir, "Makefile"))
	for _, target := range []string{"\ntest:", "\nimage:", "\nmanifest:", "\nbuild:"} {
		if !bytes.Contains(makefile, []byte(target)) {
			t.Errorf("Makefile lacks the target %q", strings.TrimSpace(target))
		}
	}
}

func TestGenerateWithAPublishedVersion(t *testing.T) {
	t.Chdir(t.TempDir())
	res, err := Generate(Options{Module: "example.com/greeter/v2", SDKVersion: "v0.3.0"})
	if err != nil {
		t.Fatal(err)
	}
	dir := res.Dir
	if filepath.Base(dir) != "greeter" {
		t.Errorf("default folder = %s, want greeter (the element before /v2)", dir)
	}
	data, _ := os.ReadFile(filepath.Join(dir, "go.mod"))
	mod, err := modfile.Parse("go.mod", data, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(mod.Replace) != 0 || mod.Require[0].Mod.Version != "v0.3.0" {
		t.Errorf("go.mod = %s, want a require of v0.3.0 and no replace", data)
	}
	if main, _ := os.ReadFile(filepath.Join(dir, "main.go")); !bytes.Contains(main, []byte(`"example.com/greeter/v2/greeterplugin"`)) {
		t.Errorf("main.go imports the wrong package (the code comes from the path before /v2):\n%s", main)
	}
}

func TestGenerateRefuses(t *testing.T) {
	root := repoRoot(t)
	existing := t.TempDir()
	if err := os.WriteFile(filepath.Join(existing, "Makefile"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		opts Options
		want string
	}{
		{"empty module path", Options{SDKReplace: root}, "module path"},
		{"bad module path", Options{Module: "Example.com/has space", SDKReplace: root}, "module path"},
		{"the SDK's own module", Options{Module: SDKModule + "/myplugin", SDKReplace: root}, "inside the SDK's own module"},
		{"bad code", Options{Module: "example.com/x", Code: "Bad_Code", SDKReplace: root}, "plugin code"},
		{"code from path not valid", Options{Module: "example.com/-x-", SDKReplace: root}, "set it with --code"},
		{"no SDK", Options{Module: "example.com/x"}, "--sdk-replace PATH"},
		{"replace not the SDK", Options{Module: "example.com/x", SDKReplace: t.TempDir()}, "--sdk-replace"},
		{"bad SDK version", Options{Module: "example.com/x", SDKVersion: "latest"}, "SDK version"},
		{"quote in description", Options{Module: "example.com/x", Description: `say "hi"`, SDKReplace: root}, "description"},
		{"existing file", Options{Module: "example.com/x", Dir: existing, SDKReplace: root}, "already exists"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.opts.Dir == "" {
				tt.opts.Dir = filepath.Join(t.TempDir(), "out")
			}
			_, err := Generate(tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want one containing %q", err, tt.want)
			}
		})
	}
	// The refusal over an existing file wrote nothing.
	entries, _ := os.ReadDir(existing)
	if len(entries) != 1 {
		t.Errorf("refused init left %d entries in the folder, want only the Makefile", len(entries))
	}
}

func TestBuiltFromCheckoutFindsThisRepository(t *testing.T) {
	dir, ok := BuiltFromCheckout()
	if !ok || dir != repoRoot(t) {
		t.Errorf("BuiltFromCheckout = %q, %v; want %q, true (tests build without -trimpath)", dir, ok, repoRoot(t))
	}
}
