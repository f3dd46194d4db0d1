package security

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// TestRBACIsNamespaced is issue 15's finding 4: the manager and the shim
// each serve chosen namespaces, so neither may reach Secrets cluster-wide.
// It fails on any ClusterRoleBinding in config/ whose role grants anything
// on Secrets, and on a RoleBinding of the manager's or the shim's role in a
// namespace that component does not serve (its --namespace).
func TestRBACIsNamespaced(t *testing.T) {
	docs := configDocs(t, "config/rbac", "config/rbac/shim")
	clusterRoles := map[string][]rbacv1.PolicyRule{}
	var crbs []rbacv1.ClusterRoleBinding
	var rbs []rbacv1.RoleBinding
	for _, d := range docs {
		switch kindOf(t, d) {
		case "ClusterRole":
			var r rbacv1.ClusterRole
			decode(t, d, &r)
			clusterRoles[r.Name] = r.Rules
		case "ClusterRoleBinding":
			var b rbacv1.ClusterRoleBinding
			decode(t, d, &b)
			crbs = append(crbs, b)
		case "RoleBinding":
			var b rbacv1.RoleBinding
			decode(t, d, &b)
			rbs = append(rbs, b)
		}
	}
	for _, b := range crbs {
		if grantsSecrets(clusterRoles[b.RoleRef.Name]) {
			t.Errorf("ClusterRoleBinding %s grants %s, which reaches Secrets in every namespace: bind it with a RoleBinding per served namespace", b.Name, b.RoleRef.Name)
		}
	}
	for _, c := range []struct{ role, deployment string }{
		{"manager-role", "config/manager/manager.yaml"},
		{"shim-role", "config/shim/deployment.yaml"},
	} {
		if !grantsSecrets(clusterRoles[c.role]) {
			t.Errorf("%s grants nothing on Secrets: this test no longer checks what it should", c.role)
		}
		served := namespaceArgs(t, c.deployment)
		if len(served) == 0 {
			t.Errorf("%s passes no --namespace: it would watch every namespace, which needs cluster-wide RBAC", c.deployment)
		}
		bound := 0
		for _, b := range rbs {
			if b.RoleRef.Name != c.role {
				continue
			}
			bound++
			if !slices.Contains(served, b.Namespace) {
				t.Errorf("RoleBinding %s grants %s in namespace %q, which %s does not serve (--namespace %v)", b.Name, c.role, b.Namespace, c.deployment, served)
			}
		}
		for _, ns := range served {
			if !slices.ContainsFunc(rbs, func(b rbacv1.RoleBinding) bool { return b.RoleRef.Name == c.role && b.Namespace == ns }) {
				t.Errorf("%s serves namespace %q but no RoleBinding grants it %s there", c.deployment, ns, c.role)
			}
		}
		if bound == 0 {
			t.Errorf("%s is bound by no RoleBinding", c.role)
		}
	}
}

// TestGrantsSecrets checks the test's own judge.
func TestGrantsSecrets(t *testing.T) {
	cases := []struct {
		rules []rbacv1.PolicyRule
		want  bool
	}{
		{[]rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}, true},
		{[]rbacv1.PolicyRule{{APIGroups: []string{"*"}, Resources: []string{"*"}, Verbs: []string{"list"}}}, true},
		{[]rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}}, false},
		{[]rbacv1.PolicyRule{{APIGroups: []string{"bkplugin.io"}, Resources: []string{"secrets"}, Verbs: []string{"get"}}}, false},
		{nil, false},
	}
	for _, c := range cases {
		if got := grantsSecrets(c.rules); got != c.want {
			t.Errorf("grantsSecrets(%v) = %v, want %v", c.rules, got, c.want)
		}
	}
}

// grantsSecrets tells whether rules grant any verb on core Secrets.
func grantsSecrets(rules []rbacv1.PolicyRule) bool {
	for _, r := range rules {
		core := slices.Contains(r.APIGroups, "") || slices.Contains(r.APIGroups, "*")
		secrets := slices.Contains(r.Resources, "secrets") || slices.Contains(r.Resources, "*")
		if core && secrets && len(r.Verbs) > 0 {
			return true
		}
	}
	return false
}

// namespaceArgs lists the namespaces a Deployment's first container is
// told to serve (--namespace=a,b, repeatable).
func namespaceArgs(t *testing.T, file string) []string {
	t.Helper()
	var d appsv1.Deployment
	decode(t, readRepoFile(t, file), &d)
	var out []string
	for _, a := range d.Spec.Template.Spec.Containers[0].Args {
		if v, ok := strings.CutPrefix(a, "--namespace="); ok {
			out = append(out, strings.Split(v, ",")...)
		}
	}
	return out
}

// configDocs returns the YAML documents of every file in dirs.
func configDocs(t *testing.T, dirs ...string) [][]byte {
	t.Helper()
	var docs [][]byte
	for _, dir := range dirs {
		files, err := filepath.Glob(filepath.Join(repoRoot, dir, "*.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range files {
			if filepath.Base(f) == "kustomization.yaml" {
				continue
			}
			rel, _ := filepath.Rel(repoRoot, f)
			for _, d := range bytes.Split(readRepoFile(t, rel), []byte("\n---")) {
				if len(bytes.TrimSpace(d)) > 0 {
					docs = append(docs, d)
				}
			}
		}
	}
	return docs
}

func readRepoFile(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func kindOf(t *testing.T, doc []byte) string {
	t.Helper()
	var m struct {
		Kind string `json:"kind"`
	}
	decode(t, doc, &m)
	return m.Kind
}

func decode(t *testing.T, doc []byte, into any) {
	t.Helper()
	if err := yaml.Unmarshal(doc, into); err != nil {
		t.Fatalf("decode %.80s: %v", doc, err)
	}
}
