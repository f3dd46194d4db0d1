package deploy

import (
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/kyaml/filesys"
)

// configDir is the repository's config/ folder, seen from this package.
const configDir = "../../config"

// render builds the kustomization in config/<dir> with the kustomize
// library, the same code as kubectl apply -k, without the kustomize binary
// (no download). config/ is copied to a temporary folder first, with a
// callback key and an archive DSN, because config/default generates their
// Secrets from git-ignored files.
func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	root := filepath.Join(t.TempDir(), "config")
	copyTree(t, configDir, root)
	key := filepath.Join(root, "default", "callback.key")
	if err := os.WriteFile(key, []byte(strings.Repeat("0123456789abcdef", 4)), 0o600); err != nil {
		t.Fatal(err)
	}
	dsn := filepath.Join(root, "default", "archive.dsn")
	if err := os.WriteFile(dsn, []byte("postgres://bkplugin:secret@db.example:5432/bkplugin?sslmode=verify-full"), 0o600); err != nil {
		t.Fatal(err)
	}
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join(root, dir))
	if err != nil {
		t.Fatalf("kustomize build config/%s: %v", dir, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range resMap.Resources() {
		// Through JSON, since Map holds Go ints that unstructured's deep
		// copies refuse.
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("config/%s: %s: %v", dir, r.CurId(), err)
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(b); err != nil {
			t.Fatalf("config/%s: %s: %v", dir, r.CurId(), err)
		}
		objs = append(objs, o)
	}
	return objs
}

// copyTree copies the regular files under src to dst.
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		if d.IsDir() {
			return os.MkdirAll(target, 0o755)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(target, b, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", src, err)
	}
}

// find returns the rendered object of a kind and name, or fails.
func find(t *testing.T, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	var have []string
	for _, o := range objs {
		have = append(have, o.GetKind()+"/"+o.GetName())
	}
	t.Fatalf("no %s %s among %v", kind, name, have)
	return nil
}

// TestDefaultRendersTheOperator checks what kustomize's transformers must
// get right: names, namespaces and the references between objects.
func TestDefaultRendersTheOperator(t *testing.T) {
	const ns = "bk-plugin-system"
	objs := render(t, "default")

	find(t, objs, "Namespace", ns)
	find(t, objs, "CustomResourceDefinition", "pluginversions.bkplugin.io")
	find(t, objs, "CustomResourceDefinition", "plugininvocations.bkplugin.io")
	find(t, objs, "Service", "bk-plugin-apiserver")

	var secret string
	for _, o := range objs {
		if o.GetKind() == "Secret" && strings.HasPrefix(o.GetName(), "bk-plugin-callback-key-") {
			secret = o.GetName()
		}
	}
	if secret == "" {
		t.Fatal("no generated callback-key Secret")
	}
	for _, name := range []string{"bk-plugin-controller-manager", "bk-plugin-apiserver"} {
		d := find(t, objs, "Deployment", name)
		if d.GetNamespace() != ns {
			t.Errorf("Deployment %s is in namespace %q, want %s", name, d.GetNamespace(), ns)
		}
		sa, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "serviceAccountName")
		find(t, objs, "ServiceAccount", sa)
		vols, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
		if len(vols) != 1 {
			t.Fatalf("Deployment %s has volumes %v, want the callback key", name, vols)
		}
		got, _, _ := unstructured.NestedString(vols[0].(map[string]any), "secret", "secretName")
		if got != secret {
			t.Errorf("Deployment %s mounts Secret %q, want the generated %s", name, got, secret)
		}
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		image, _, _ := unstructured.NestedString(containers[0].(map[string]any), "image")
		if !strings.HasPrefix(image, "bkplugin/bk-plugin-") {
			t.Errorf("Deployment %s runs image %q, want a bkplugin/bk-plugin-* image", name, image)
		}
	}
	// The manager reads its archive DSN from the generated archive Secret.
	var archiveSecret string
	for _, o := range objs {
		if o.GetKind() == "Secret" && strings.HasPrefix(o.GetName(), "bk-plugin-archive-") {
			archiveSecret = o.GetName()
		}
	}
	// So does the shim, which reads finished invocations through to it.
	for _, name := range []string{"bk-plugin-controller-manager", "bk-plugin-apiserver"} {
		m := find(t, objs, "Deployment", name)
		containers, _, _ := unstructured.NestedSlice(m.Object, "spec", "template", "spec", "containers")
		envs, _, _ := unstructured.NestedSlice(containers[0].(map[string]any), "env")
		args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
		ref := ""
		for _, e := range envs {
			if e.(map[string]any)["name"] == "ARCHIVE_DSN" {
				ref, _, _ = unstructured.NestedString(e.(map[string]any), "valueFrom", "secretKeyRef", "name")
			}
		}
		if archiveSecret == "" || ref != archiveSecret {
			t.Errorf("%s's ARCHIVE_DSN comes from Secret %q, want the generated archive Secret %q", name, ref, archiveSecret)
		}
		if !slices.Contains(args, "--archive=$(ARCHIVE_DSN)") {
			t.Errorf("%s's args %q lack --archive=$(ARCHIVE_DSN)", name, args)
		}
	}
	for _, b := range []struct{ kind, name string }{
		{"ClusterRoleBinding", "bk-plugin-manager-rolebinding"},
		{"ClusterRoleBinding", "bk-plugin-shim-rolebinding"},
		{"RoleBinding", "bk-plugin-leader-election-rolebinding"},
	} {
		o := find(t, objs, b.kind, b.name)
		role, _, _ := unstructured.NestedString(o.Object, "roleRef", "name")
		roleKind, _, _ := unstructured.NestedString(o.Object, "roleRef", "kind")
		find(t, objs, roleKind, role)
		subjects, _, _ := unstructured.NestedSlice(o.Object, "subjects")
		for _, s := range subjects {
			sm := s.(map[string]any)
			find(t, objs, "ServiceAccount", sm["name"].(string))
			if sm["namespace"] != ns {
				t.Errorf("%s %s binds a ServiceAccount in namespace %v, want %s", b.kind, b.name, sm["namespace"], ns)
			}
		}
	}
}

// TestExamplesRenderThePluginPods checks that each sample PluginVersion's
// Service exists in config/examples.
func TestExamplesRenderThePluginPods(t *testing.T) {
	objs := render(t, "examples")
	for _, p := range []string{"hello", "poller", "callbacker", "deployer"} {
		find(t, objs, "Deployment", p)
		find(t, objs, "Service", p)
	}
}
