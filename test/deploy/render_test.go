package deploy

import (
	"os/exec"
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

// callbackKeySecret is the Secret the manager creates for the callback key.
const callbackKeySecret = "bk-plugin-callback-key"

// archiveSecret is the Secret holding the history archive's DSN, which the
// operator's admin creates.
const archiveSecret = "bk-plugin-archive"

// render builds the kustomization in config/<dir> with the kustomize
// library, the same code as kubectl apply -k, without the kustomize binary
// (no download). It reads the clone as it is: nothing (no key) is made
// before, as on a fresh clone.
func render(t *testing.T, dir string) []*unstructured.Unstructured {
	t.Helper()
	return renderPath(t, filepath.Join(configDir, dir))
}

// renderPath builds the kustomization in path.
func renderPath(t *testing.T, path string) []*unstructured.Unstructured {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	resMap, err := k.Run(filesys.MakeFsOnDisk(), path)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", path, err)
	}
	var objs []*unstructured.Unstructured
	for _, r := range resMap.Resources() {
		// Through JSON, since Map holds Go ints that unstructured's deep
		// copies refuse.
		b, err := r.MarshalJSON()
		if err != nil {
			t.Fatalf("%s: %s: %v", path, r.CurId(), err)
		}
		o := &unstructured.Unstructured{}
		if err := o.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s: %s: %v", path, r.CurId(), err)
		}
		objs = append(objs, o)
	}
	return objs
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

	// No Secret is rendered: the manager creates the callback key's at its
	// first start. Both Deployments mount that one name; only the
	// manager's mount is optional (it starts before the Secret exists) and
	// the manager is told the same name.
	for _, o := range objs {
		if o.GetKind() == "Secret" {
			t.Errorf("config/default renders Secret %s; it must need no secret input to render", o.GetName())
		}
	}
	// Each also mounts its credential, never optional, and is pointed at it
	// (issue 15: the shipped config authenticates): the manager the token
	// plugin pods check, the shim its callers' bearer tokens.
	for _, c := range []struct {
		name       string
		optional   bool
		credential string
		flag       string
	}{
		{"bk-plugin-controller-manager", true, "bk-plugin-execute-token", "--execute-token-file=/etc/bk-plugin/execute/token"},
		{"bk-plugin-apiserver", false, "bk-plugin-auth-tokens", "--auth-token-file=/etc/bk-plugin/auth/tokens"},
	} {
		d := find(t, objs, "Deployment", c.name)
		if d.GetNamespace() != ns {
			t.Errorf("Deployment %s is in namespace %q, want %s", c.name, d.GetNamespace(), ns)
		}
		sa, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "serviceAccountName")
		find(t, objs, "ServiceAccount", sa)
		vols, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
		if len(vols) != 2 {
			t.Fatalf("Deployment %s has volumes %v, want the callback key and %s", c.name, vols, c.credential)
		}
		cred, _, _ := unstructured.NestedString(vols[1].(map[string]any), "secret", "secretName")
		credOptional, _, _ := unstructured.NestedBool(vols[1].(map[string]any), "secret", "optional")
		if cred != c.credential || credOptional {
			t.Errorf("Deployment %s mounts %v, want Secret %s, not optional", c.name, vols[1], c.credential)
		}
		if args, _, _ := unstructured.NestedStringSlice(containerOf(d), "args"); !slices.Contains(args, c.flag) {
			t.Errorf("Deployment %s args %v lack %s", c.name, args, c.flag)
		}
		got, _, _ := unstructured.NestedString(vols[0].(map[string]any), "secret", "secretName")
		if got != callbackKeySecret {
			t.Errorf("Deployment %s mounts Secret %q, want %s", c.name, got, callbackKeySecret)
		}
		optional, _, _ := unstructured.NestedBool(vols[0].(map[string]any), "secret", "optional")
		if optional != c.optional {
			t.Errorf("Deployment %s: callback key volume optional=%v, want %v", c.name, optional, c.optional)
		}
		containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
		image, _, _ := unstructured.NestedString(containers[0].(map[string]any), "image")
		if !strings.HasPrefix(image, "bkplugin/bk-plugin-") {
			t.Errorf("Deployment %s runs image %q, want a bkplugin/bk-plugin-* image", c.name, image)
		}
		if c.optional {
			args, _, _ := unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
			if !slices.Contains(args, "--callback-key-secret="+callbackKeySecret) {
				t.Errorf("Deployment %s args %v lack --callback-key-secret=%s", c.name, args, callbackKeySecret)
			}
		}
	}
	checkCallbackKeyRole(t, objs, ns)
	// The manager reads its archive DSN from the Secret the admin creates
	// (docs/history.md); nothing renders it. So does the shim, which reads
	// finished invocations through to the same archive.
	for _, name := range []string{"bk-plugin-controller-manager", "bk-plugin-apiserver"} {
		m := find(t, objs, "Deployment", name)
		containers, _, _ := unstructured.NestedSlice(m.Object, "spec", "template", "spec", "containers")
		mc := containers[0].(map[string]any)
		envs, _, _ := unstructured.NestedSlice(mc, "env")
		ref := ""
		for _, e := range envs {
			if e.(map[string]any)["name"] == "ARCHIVE_DSN" {
				ref, _, _ = unstructured.NestedString(e.(map[string]any), "valueFrom", "secretKeyRef", "name")
			}
		}
		args, _, _ := unstructured.NestedStringSlice(mc, "args")
		if ref != archiveSecret || !slices.Contains(args, "--archive=$(ARCHIVE_DSN)") {
			t.Errorf("%s's --archive comes from Secret %q (args %v), want $(ARCHIVE_DSN) from %s", name, ref, args, archiveSecret)
		}
	}
	for _, b := range []struct{ kind, name string }{
		{"RoleBinding", "bk-plugin-manager-rolebinding"},
		{"RoleBinding", "bk-plugin-shim-rolebinding"},
		{"RoleBinding", "bk-plugin-leader-election-rolebinding"},
		{"RoleBinding", "bk-plugin-callback-key-rolebinding"},
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
	// The manager and the shim get their permissions in the namespace
	// they serve only (issue 15, finding 4): nothing is bound cluster-wide.
	for _, o := range objs {
		if o.GetKind() == "ClusterRoleBinding" {
			t.Errorf("ClusterRoleBinding %s: the operator's permissions are bound per served namespace", o.GetName())
		}
	}
	for _, name := range []string{"bk-plugin-manager-rolebinding", "bk-plugin-shim-rolebinding"} {
		if got := find(t, objs, "RoleBinding", name).GetNamespace(); got != "default" {
			t.Errorf("RoleBinding %s is in namespace %q, want default, the namespace served", name, got)
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

// checkCallbackKeyRole checks that what lets the manager create the
// callback key is a namespaced Role, reading only that one Secret.
func checkCallbackKeyRole(t *testing.T, objs []*unstructured.Unstructured, ns string) {
	t.Helper()
	role := find(t, objs, "Role", "bk-plugin-callback-key-role")
	if role.GetNamespace() != ns {
		t.Errorf("Role %s is in namespace %q, want %s", role.GetName(), role.GetNamespace(), ns)
	}
	rules, _, _ := unstructured.NestedSlice(role.Object, "rules")
	for _, r := range rules {
		rm := r.(map[string]any)
		verbs, _, _ := unstructured.NestedStringSlice(rm, "verbs")
		names, _, _ := unstructured.NestedStringSlice(rm, "resourceNames")
		for _, v := range verbs {
			switch v {
			case "create":
				// The API server authorizes a create before the name is
				// known, so resourceNames cannot narrow it.
			case "get":
				if !slices.Equal(names, []string{callbackKeySecret}) {
					t.Errorf("Role %s grants get on Secrets %v, want only %s", role.GetName(), names, callbackKeySecret)
				}
			default:
				t.Errorf("Role %s grants %s on Secrets; the manager only gets and creates the callback key", role.GetName(), v)
			}
		}
	}
}

// TestMakeDeploySetsTheImages runs the Makefile's deploy-kustomization,
// as make deploy does, and checks that the overlay it writes puts
// IMG_REGISTRY and IMG_TAG on every image of config/default and
// config/examples.
func TestMakeDeploySetsTheImages(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make on PATH")
	}
	out := t.TempDir()
	for _, config := range []string{"default", "overlays/production"} {
		cmd := exec.Command("make", "--no-print-directory", "-C", "../..", "deploy-kustomization",
			"IMG_REGISTRY=registry.example.com/team", "IMG_TAG=v9.8.7", "DEPLOY_DIR="+out, "DEPLOY_CONFIG="+config)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("make deploy-kustomization DEPLOY_CONFIG=%s: %v\n%s", config, err, b)
		}
	}
	for _, dir := range []string{"default", "overlays/production", "examples"} {
		n := 0
		for _, o := range renderPath(t, filepath.Join(out, dir)) {
			if o.GetKind() != "Deployment" {
				continue
			}
			containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			for _, c := range containers {
				image, _, _ := unstructured.NestedString(c.(map[string]any), "image")
				want := "registry.example.com/team/bk-plugin-"
				if !strings.HasPrefix(image, want) || !strings.HasSuffix(image, ":v9.8.7") {
					t.Errorf("%s: Deployment %s runs %q, want %s*:v9.8.7", dir, o.GetName(), image, want)
				}
				n++
			}
		}
		if n == 0 {
			t.Errorf("%s: no Deployment rendered", dir)
		}
	}
}

// TestProductionOverlay checks config/overlays/production: the PDB and
// the anti-affinity select the shim's pods, and the NetworkPolicies admit
// the manager's and the shim's pods (by their rendered labels) to the
// example plugin pods' port, and nothing else.
func TestProductionOverlay(t *testing.T) {
	objs := render(t, "overlays/production")
	podLabels := func(name string) map[string]string {
		d := find(t, objs, "Deployment", name)
		l, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
		return l
	}
	shim, mgr := podLabels("bk-plugin-apiserver"), podLabels("bk-plugin-controller-manager")

	pdb := find(t, objs, "PodDisruptionBudget", "bk-plugin-apiserver")
	if sel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels"); !selects(sel, shim) || selects(sel, mgr) {
		t.Errorf("PDB selects %v; want the shim's pods %v only", sel, shim)
	}
	d := find(t, objs, "Deployment", "bk-plugin-apiserver")
	terms, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "affinity", "podAntiAffinity", "preferredDuringSchedulingIgnoredDuringExecution")
	if len(terms) != 1 {
		t.Fatalf("shim anti-affinity terms %v, want one", terms)
	}
	if sel, _, _ := unstructured.NestedStringMap(terms[0].(map[string]any), "podAffinityTerm", "labelSelector", "matchLabels"); !selects(sel, shim) {
		t.Errorf("anti-affinity selects %v, not the shim's pods %v", sel, shim)
	}
	if _, found, _ := unstructured.NestedMap(find(t, objs, "Deployment", "bk-plugin-controller-manager").Object, "spec", "template", "spec", "affinity"); found {
		t.Errorf("the shim's anti-affinity patch reached the manager")
	}

	np := find(t, objs, "NetworkPolicy", "bk-plugin-plugin-pods")
	target, _, _ := unstructured.NestedStringMap(np.Object, "spec", "podSelector", "matchLabels")
	for _, o := range render(t, "examples") {
		if o.GetKind() != "Deployment" {
			continue
		}
		l, _, _ := unstructured.NestedStringMap(o.Object, "spec", "template", "metadata", "labels")
		if !selects(target, l) || np.GetNamespace() != o.GetNamespace() {
			t.Errorf("plugin pods' NetworkPolicy (%v in %s) does not cover example %s (%v in %s)", target, np.GetNamespace(), o.GetName(), l, o.GetNamespace())
		}
	}
	ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	from, _, _ := unstructured.NestedSlice(ingress[0].(map[string]any), "from")
	if len(ingress) != 1 || len(from) != 2 {
		t.Fatalf("plugin pods' NetworkPolicy ingress %v, want one rule from the manager and the shim", ingress)
	}
	for i, want := range []map[string]string{mgr, shim} {
		sel, _, _ := unstructured.NestedStringMap(from[i].(map[string]any), "podSelector", "matchLabels")
		ns, _, _ := unstructured.NestedStringMap(from[i].(map[string]any), "namespaceSelector", "matchLabels")
		if !selects(sel, want) || ns["kubernetes.io/metadata.name"] != "bk-plugin-system" {
			t.Errorf("peer %d selects %v in %v, want pods %v in bk-plugin-system", i, sel, ns, want)
		}
	}
	if sel, _, _ := unstructured.NestedStringMap(find(t, objs, "NetworkPolicy", "bk-plugin-apiserver").Object, "spec", "podSelector", "matchLabels"); !selects(sel, shim) {
		t.Errorf("the shim's NetworkPolicy selects %v, not its pods %v", sel, shim)
	}
}

// selects says whether a non-empty matchLabels selector matches labels.
func selects(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// containerOf returns a Deployment's first container.
func containerOf(d *unstructured.Unstructured) map[string]any {
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(containers) == 0 {
		return nil
	}
	return containers[0].(map[string]any)
}
