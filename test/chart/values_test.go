package chart

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// valueSet is one way to install the chart.
type valueSet struct {
	name string
	vals map[string]any
}

// valueSets are the installs every test renders: the defaults, everything
// switched on with bring-your-own Secrets, and a SQLite archive.
var valueSets = []valueSet{
	{"defaults", nil},
	{"everything", map[string]any{
		"image":          map[string]any{"registry": "registry.example.com/team", "tag": "v1.2.3"},
		"watchNamespace": "plugins",
		"callbackKey":    map[string]any{"existingSecret": "my-callback-key"},
		"auth": map[string]any{"existingSecret": "shim-tokens", "gatewayKeysSecret": "apigw-keys",
			"publicRoutes": []any{"meta", "detail", "schedule"}},
		"executeToken": map[string]any{"existingSecret": "execute-token"},
		"archive":      map[string]any{"enabled": true, "existingSecret": "archive-dsn", "key": "dsn"},
		"shim":         map[string]any{"replicas": 3, "podAntiAffinity": "hard"},
		"metrics": map[string]any{
			"serviceMonitor": map[string]any{"enabled": true, "labels": map[string]any{"release": "prom"}},
			"prometheusRule": map[string]any{"enabled": true},
		},
		"networkPolicy": map[string]any{"enabled": true, "shimIngressFrom": []any{
			map[string]any{"namespaceSelector": map[string]any{"matchLabels": map[string]any{"kubernetes.io/metadata.name": "bk-sops"}}},
		}},
	}},
	{"sqlite archive, no PDB, no anti-affinity", map[string]any{
		"archive": map[string]any{"enabled": true},
		"shim":    map[string]any{"podAntiAffinity": "", "podDisruptionBudget": map[string]any{"enabled": false}},
		"metrics": map[string]any{"service": map[string]any{"enabled": false}},
	}},
}

// container returns a Deployment's first container.
func container(t *testing.T, d *unstructured.Unstructured) map[string]any {
	t.Helper()
	cs, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	if len(cs) == 0 {
		t.Fatalf("Deployment %s has no containers", d.GetName())
	}
	return cs[0].(map[string]any)
}

// volume returns a Deployment's volume of a name, or nil.
func volume(d *unstructured.Unstructured, name string) map[string]any {
	vols, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
	for _, v := range vols {
		if v.(map[string]any)["name"] == name {
			return v.(map[string]any)
		}
	}
	return nil
}

// TestRBACIsNamespaced renders every value set and fails on any
// ClusterRole or ClusterRoleBinding, any Role outside the watched and the
// release's namespaces, and Secret access beyond the callback key's name in
// the release's namespace.
func TestRBACIsNamespaced(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			objs := mustRender(t, vs.vals)
			watch := "default"
			if w, ok := vs.vals["watchNamespace"].(string); ok {
				watch = w
			}
			for _, o := range objs {
				switch o.GetKind() {
				case "ClusterRole", "ClusterRoleBinding":
					t.Errorf("%s %s: the chart grants nothing cluster-wide", o.GetKind(), o.GetName())
				case "Role", "RoleBinding":
					if ns := o.GetNamespace(); ns != watch && ns != releaseNamespace {
						t.Errorf("%s %s is in namespace %q, want %s or %s", o.GetKind(), o.GetName(), ns, watch, releaseNamespace)
					}
				}
				if o.GetKind() != "Role" {
					continue
				}
				rules, _, _ := unstructured.NestedSlice(o.Object, "rules")
				for _, r := range rules {
					rm := r.(map[string]any)
					res, _, _ := unstructured.NestedStringSlice(rm, "resources")
					if !slices.Contains(res, "secrets") {
						continue
					}
					if o.GetNamespace() == watch {
						continue // sensitive inputs and outputs of the invocations there
					}
					names, _, _ := unstructured.NestedStringSlice(rm, "resourceNames")
					verbs, _, _ := unstructured.NestedStringSlice(rm, "verbs")
					if !(slices.Equal(verbs, []string{"create"}) || slices.Equal(names, []string{releaseName + "-bk-plugin-operator-callback-key"})) {
						t.Errorf("Role %s/%s grants %v on Secrets %v; in the release's namespace only the callback key's may be read", o.GetNamespace(), o.GetName(), verbs, names)
					}
				}
			}
			for _, b := range []string{"bkp-bk-plugin-operator-manager", "bkp-bk-plugin-operator-apiserver"} {
				rb := find(t, objs, "RoleBinding", b)
				if rb.GetNamespace() != watch {
					t.Errorf("RoleBinding %s is in %q, want the watched namespace %s", b, rb.GetNamespace(), watch)
				}
				role, _, _ := unstructured.NestedString(rb.Object, "roleRef", "name")
				find(t, objs, "Role", role)
			}
		})
	}
}

// TestDeployments checks images, the callback key's wiring, the auth and
// archive Secrets, and the shim's PDB and anti-affinity for each value set.
func TestDeployments(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			objs := mustRender(t, vs.vals)
			get := func(path ...string) any {
				v, _, _ := unstructured.NestedFieldNoCopy(vs.vals, path...)
				return v
			}
			registry, tag := "bkplugin", "latest"
			if r, ok := get("image", "registry").(string); ok {
				registry, tag = r, get("image", "tag").(string)
			}
			keySecret := releaseName + "-bk-plugin-operator-callback-key"
			byo, _ := get("callbackKey", "existingSecret").(string)
			if byo != "" {
				keySecret = byo
			}
			mgr := find(t, objs, "Deployment", "bkp-bk-plugin-operator-manager")
			shim := find(t, objs, "Deployment", "bkp-bk-plugin-operator-apiserver")
			for d, img := range map[*unstructured.Unstructured]string{mgr: "manager", shim: "apiserver"} {
				want := registry + "/bk-plugin-" + img + ":" + tag
				if got := container(t, d)["image"]; got != want {
					t.Errorf("Deployment %s runs %v, want %s", d.GetName(), got, want)
				}
				v := volume(d, "callback-key")
				if name, _, _ := unstructured.NestedString(v, "secret", "secretName"); name != keySecret {
					t.Errorf("Deployment %s mounts callback key Secret %q, want %s", d.GetName(), name, keySecret)
				}
				optional, _, _ := unstructured.NestedBool(v, "secret", "optional")
				if wantOpt := d == mgr && byo == ""; optional != wantOpt {
					t.Errorf("Deployment %s: callback key optional=%v, want %v", d.GetName(), optional, wantOpt)
				}
			}
			mgrArgs, _, _ := unstructured.NestedStringSlice(container(t, mgr), "args")
			if has := slices.Contains(mgrArgs, "--callback-key-secret="+keySecret); has != (byo == "") {
				t.Errorf("manager args %v: --callback-key-secret present=%v, want %v", mgrArgs, has, byo == "")
			}
			shimArgs, _, _ := unstructured.NestedStringSlice(container(t, shim), "args")
			if auth, _ := get("auth", "existingSecret").(string); auth != "" {
				if !slices.Contains(shimArgs, "--auth-token-file=/etc/bk-plugin/auth/tokens") || volume(shim, "auth") == nil {
					t.Errorf("shim args %v / volumes: the auth tokens of Secret %s are not wired", shimArgs, auth)
				}
			}
			// archive.enabled as set, else the chart's default (values.yaml).
			archiveOn, _, _ := unstructured.NestedBool(loadChart(t).Values, "archive", "enabled")
			if on, set := get("archive", "enabled").(bool); set {
				archiveOn = on
			}
			if archiveOn {
				if !slices.Contains(mgrArgs, "--archive=$(BKPLUGIN_ARCHIVE_DSN)") {
					t.Errorf("manager args %v lack --archive", mgrArgs)
				}
				env, _, _ := unstructured.NestedSlice(container(t, mgr), "env")
				var dsn map[string]any
				for _, e := range env {
					if e.(map[string]any)["name"] == "BKPLUGIN_ARCHIVE_DSN" {
						dsn = e.(map[string]any)
					}
				}
				if sec, _ := get("archive", "existingSecret").(string); sec != "" {
					if name, _, _ := unstructured.NestedString(dsn, "valueFrom", "secretKeyRef", "name"); name != sec {
						t.Errorf("archive DSN comes from %v, want Secret %s", dsn, sec)
					}
				} else if v, _ := dsn["value"].(string); !strings.HasPrefix(v, "sqlite:///var/lib/bkplugin/") || volume(mgr, "archive") == nil {
					t.Errorf("archive DSN %v, want the SQLite default on the archive volume", dsn)
				}
			} else if slices.ContainsFunc(mgrArgs, func(a string) bool { return strings.HasPrefix(a, "--archive") }) {
				t.Errorf("manager args %v: --archive with the archive off", mgrArgs)
			}
			// The shim reads the manager's archive when its pod can reach
			// it (a Secret's DSN); a SQLite file in the manager's pod, or
			// no archive, leaves it answering from the cluster only.
			sec, _ := get("archive", "existingSecret").(string)
			if archiveOn && sec != "" {
				env, _, _ := unstructured.NestedSlice(container(t, shim), "env")
				from := ""
				for _, e := range env {
					if e.(map[string]any)["name"] == "BKPLUGIN_ARCHIVE_DSN" {
						from, _, _ = unstructured.NestedString(e.(map[string]any), "valueFrom", "secretKeyRef", "name")
					}
				}
				if !slices.Contains(shimArgs, "--archive=$(BKPLUGIN_ARCHIVE_DSN)") || from != sec {
					t.Errorf("shim args %v, DSN from Secret %q: want --archive from Secret %s", shimArgs, from, sec)
				}
			} else if !slices.Contains(shimArgs, "--archive=") {
				t.Errorf("shim args %v lack --archive= (no archive the shim's pod can reach)", shimArgs)
			}
			checkShimAvailability(t, objs, shim, vs)
		})
	}
}

// checkShimAvailability checks the PDB and anti-affinity of the shim.
func checkShimAvailability(t *testing.T, objs []*unstructured.Unstructured, shim *unstructured.Unstructured, vs valueSet) {
	t.Helper()
	podLabels, _, _ := unstructured.NestedStringMap(shim.Object, "spec", "template", "metadata", "labels")
	mode := "soft"
	if m, found, _ := unstructured.NestedString(vs.vals, "shim", "podAntiAffinity"); found {
		mode = m
	}
	aa, found, _ := unstructured.NestedMap(shim.Object, "spec", "template", "spec", "affinity", "podAntiAffinity")
	var sel map[string]string
	switch mode {
	case "soft":
		terms, _, _ := unstructured.NestedSlice(aa, "preferredDuringSchedulingIgnoredDuringExecution")
		if len(terms) == 1 {
			sel, _, _ = unstructured.NestedStringMap(terms[0].(map[string]any), "podAffinityTerm", "labelSelector", "matchLabels")
		}
	case "hard":
		terms, _, _ := unstructured.NestedSlice(aa, "requiredDuringSchedulingIgnoredDuringExecution")
		if len(terms) == 1 {
			sel, _, _ = unstructured.NestedStringMap(terms[0].(map[string]any), "labelSelector", "matchLabels")
		}
	default:
		if found {
			t.Errorf("podAntiAffinity %q renders %v, want none", mode, aa)
		}
	}
	if mode != "" && (len(sel) == 0 || !selects(sel, podLabels)) {
		t.Errorf("%s anti-affinity selects %v, which does not match the shim's pods %v", mode, sel, podLabels)
	}
	pdb := lookup(objs, "PodDisruptionBudget", shim.GetName())
	if on, set, _ := unstructured.NestedBool(vs.vals, "shim", "podDisruptionBudget", "enabled"); set && !on {
		if pdb != nil {
			t.Errorf("PDB rendered though shim.podDisruptionBudget.enabled is false")
		}
		return
	}
	if pdb == nil {
		t.Fatalf("no PodDisruptionBudget for the shim")
	}
	sel, _, _ = unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels")
	if !selects(sel, podLabels) {
		t.Errorf("PDB selects %v, not the shim's pods %v", sel, podLabels)
	}
}

// selects says whether a matchLabels selector matches labels.
func selects(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return len(sel) > 0
}

// TestNetworkPolicies checks that plugin pods admit only the manager's and
// the shim's pods (by their real labels), and the shim admits its callers.
func TestNetworkPolicies(t *testing.T) {
	objs := mustRender(t, valueSets[1].vals)
	mgr := find(t, objs, "Deployment", "bkp-bk-plugin-operator-manager")
	shim := find(t, objs, "Deployment", "bkp-bk-plugin-operator-apiserver")
	np := find(t, objs, "NetworkPolicy", "bkp-bk-plugin-operator-plugin-pods")
	if np.GetNamespace() != "plugins" {
		t.Errorf("plugin pods' NetworkPolicy is in %q, want the watched namespace plugins", np.GetNamespace())
	}
	ingress, _, _ := unstructured.NestedSlice(np.Object, "spec", "ingress")
	if len(ingress) != 1 {
		t.Fatalf("plugin pods' NetworkPolicy has %d ingress rules, want 1", len(ingress))
	}
	from, _, _ := unstructured.NestedSlice(ingress[0].(map[string]any), "from")
	if len(from) != 2 {
		t.Fatalf("plugin pods admit %d peers, want the manager and the shim", len(from))
	}
	for i, d := range []*unstructured.Unstructured{mgr, shim} {
		podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
		sel, _, _ := unstructured.NestedStringMap(from[i].(map[string]any), "podSelector", "matchLabels")
		nsSel, _, _ := unstructured.NestedStringMap(from[i].(map[string]any), "namespaceSelector", "matchLabels")
		if !selects(sel, podLabels) || nsSel["kubernetes.io/metadata.name"] != releaseNamespace {
			t.Errorf("peer %d (%v in %v) does not select Deployment %s's pods %v in %s", i, sel, nsSel, d.GetName(), podLabels, releaseNamespace)
		}
	}
	if off := mustRender(t, nil); kinds(off)["NetworkPolicy"] != 0 {
		t.Errorf("NetworkPolicies rendered with networkPolicy.enabled false")
	}
}

// TestBadValuesSayWhatIsWrong renders values a user may get wrong and
// checks that the error names the value.
func TestBadValuesSayWhatIsWrong(t *testing.T) {
	for _, c := range []struct {
		name string
		vals map[string]any
		want string
	}{
		{"anti-affinity mode", map[string]any{"shim": map[string]any{"podAntiAffinity": "sometimes"}}, `shim.podAntiAffinity is "sometimes"`},
		{"no watched namespace", map[string]any{"watchNamespace": ""}, "watchNamespace must name"},
		{"archive without a DSN", map[string]any{"archive": map[string]any{"enabled": true, "dsn": ""}}, "archive.dsn or archive.existingSecret"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := renderChart(t, c.vals)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want one containing %q", err, c.want)
			}
		})
	}
}
