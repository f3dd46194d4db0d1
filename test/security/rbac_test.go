package security

import (
	"bufio"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"
)

// use is one permission the code needs, and where: site is a fragment of the
// line that needs it, in file (relative to the repository root), or "" for
// a permission a library needs on the code's behalf (an informer's list and
// watch, the event recorder, leader election), explained in why.
type use struct {
	group, resource, verb string
	file, site, why       string
}

// A Get or List through the manager's cache still counts as get or list:
// the code asks for it, and a cache option (DisableFor, an uncached reader)
// turns it into a live request without touching this table.
var managerUses = []use{
	{"bkplugin.io", "plugininvocations", "get", "internal/controller/invocation/reconciler.go", "r.Get(ctx, req.NamespacedName, inv)", ""},
	{"bkplugin.io", "plugininvocations", "get", "internal/controller/invocation/reconciler.go", "r.APIReader.Get(ctx, key, fresh)", "re-read after a write conflict"},
	{"bkplugin.io", "plugininvocations", "list", "", "", "the controller's informer"},
	{"bkplugin.io", "plugininvocations", "watch", "", "", "the controller's informer"},
	{"bkplugin.io", "plugininvocations", "patch", "internal/controller/invocation/reconciler.go", "r.Patch(ctx, inv, client.RawPatch(types.MergePatchType, patch))", "labels, consumed callback annotations"},
	{"bkplugin.io", "plugininvocations", "delete", "internal/controller/invocation/finish_notification.go", "r.Delete(ctx, inv,", "TTL after finish"},
	{"bkplugin.io", "plugininvocations/status", "update", "internal/controller/invocation/reconciler.go", "err := r.Status().Update(ctx, obj)", "persistStatus, the one writer: every transition and the finish notification"},
	{"bkplugin.io", "pluginversions", "get", "internal/controller/version/reconciler.go", "r.Get(ctx, req.NamespacedName, plv)", ""},
	{"bkplugin.io", "pluginversions", "list", "internal/controller/invocation/reconciler.go", "return r.List(ctx, list, client.InNamespace(inv.Namespace),", "listVersions: resolve a version, and the sensitive fields an archived record masks"},
	{"bkplugin.io", "pluginversions", "list", "internal/controller/invocation/admission_gate.go", "if err := r.List(ctx, &list, client.InNamespace(inv.Namespace), client.UnsafeDisableDeepCopy,", "the limits of an invocation's version"},
	{"bkplugin.io", "plugininvocations", "list", "internal/controller/invocation/admission_gate.go", "if err := r.List(ctx, &list, client.InNamespace(namespace), client.UnsafeDisableDeepCopy,", "the live invocations of a capped version, its queue"},
	{"bkplugin.io", "plugininvocations", "get", "internal/controller/invocation/admission_gate.go", "err := r.Get(ctx, client.ObjectKey{Namespace: inv.Namespace, Name: name}, other)", "does an admitted invocation still hold a slot"},
	{"bkplugin.io", "plugininvocations", "get", "internal/controller/invocation/fair_queue_wiring.go", "if err := c.Get(ctx, req.NamespacedName, &inv, client.UnsafeDisableDeepCopy); err != nil {", "the plugin a queued request belongs to, for the fair queue"},
	{"bkplugin.io", "pluginversions", "list", "internal/controller/version/reconciler.go", "r.List(ctx, &list, client.InNamespace(plv.Namespace),", "duplicate registrations"},
	{"bkplugin.io", "pluginversions", "watch", "", "", "the controller's informer"},
	{"bkplugin.io", "pluginversions/status", "patch", "internal/controller/version/reconciler.go", "r.Status().Patch(ctx, plv, client.MergeFrom(orig))", "conditions"},
	{"", "secrets", "get", "internal/sensitive/execute.go", "err := r.Get(ctx, client.ObjectKey{Namespace: inv.Namespace, Name: inv.SensitiveSecretName()}, secret)", "sensitive inputs, read live (the reconciler passes its APIReader): Secrets are not cached"},
	{"", "secrets", "create", "internal/sensitive/execute.go", "c.Create(ctx, secret)", "sensitive outputs"},
	{"", "secrets", "update", "internal/sensitive/execute.go", "c.Update(ctx, secret)", "sensitive outputs"},
	{"", "secrets", "patch", "internal/sensitive/execute.go", "c.Patch(ctx, sv.Secret,", "adopt the shim's Secret"},
	// The callback key's Secret, in the manager's own namespace: also
	// granted, for that name only, by config/rbac/callback_key_role.yaml.
	{"", "secrets", "get", "internal/callbackkey/callbackkey.go", "err := c.Get(ctx, key, &secret)", "the callback key Secret, read at start when its file is not mounted"},
	{"", "secrets", "get", "internal/callbackkey/callbackkey.go", "err = c.Get(ctx, key, &secret)", "the callback key Secret another replica created first"},
	{"", "secrets", "create", "internal/callbackkey/callbackkey.go", "err = c.Create(ctx, &secret)", "the callback key Secret, created at the first start"},
	{"events.k8s.io", "events", "create", "", "", "the event recorder"},
	{"events.k8s.io", "events", "patch", "", "", "the event recorder (series of one event)"},
	{"coordination.k8s.io", "leases", "get", "", "", "leader election (resourcelock.LeaseLock)"},
	{"coordination.k8s.io", "leases", "create", "", "", "leader election"},
	{"coordination.k8s.io", "leases", "update", "", "", "leader election, release on cancel"},
}

var shimUses = []use{
	{"bkplugin.io", "plugininvocations", "create", "internal/shim/invocations.go", "s.kube.Create(ctx, inv)", "invoke"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/invocations.go", "s.kube.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: call.TraceID}, existing)", "idempotent invoke"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/invocations.go", "err = s.kube.Get(ctx, key, inv)", "schedule of an invocation the cache has not seen"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/invocations.go", "err := s.cache.Get(ctx, key, inv)", "schedule"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/invocations.go", "s.kube.Get(ctx, client.ObjectKeyFromObject(target), live)", "callback after a conflict"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/invocations.go", "s.kube.Get(ctx, client.ObjectKeyFromObject(inv), live)", "a callback id the cache does not show prepared yet"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/invocations_fresh.go", "s.kube.Get(ctx, client.ObjectKeyFromObject(inv), live)", "schedule and callback read a running invocation live"},
	{"bkplugin.io", "plugininvocations", "patch", "internal/shim/invocations_cancel.go", "s.kube.Patch(ctx, target, client.RawPatch(types.MergePatchType, cancelPatch))", "cancel"},
	{"bkplugin.io", "plugininvocations", "patch", "internal/shim/plugin_callback.go", "s.kube.Patch(ctx, target, client.RawPatch(types.MergePatchType, patch))", "the plugin_callback route's annotation"},
	{"bkplugin.io", "plugininvocations", "list", "", "", "the shared informer"},
	{"bkplugin.io", "plugininvocations", "watch", "", "", "the shared informer"},
	{"bkplugin.io", "plugininvocations", "patch", "internal/shim/invocations.go", "s.kube.Patch(ctx, target, client.RawPatch(types.MergePatchType, patch))", "callback annotation"},
	{"bkplugin.io", "pluginversions", "list", "internal/shim/versions.go", "v.reader.List(ctx, &list, client.InNamespace(v.namespace)", "meta, detail, resolve"},
	{"bkplugin.io", "pluginversions", "watch", "", "", "the shared informer"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/logs.go", "l.reader.Get(ctx, client.ObjectKeyFromObject(f.Live), inv)", "logs: status.logs, which the cache drops"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/readthrough.go", "s.cache.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: call.TraceID}, inv)", "a repeated invoke: in the cluster or archived?"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/readthrough.go", "err := s.cache.Get(ctx, client.ObjectKey{Namespace: s.namespace, Name: traceID}, &inv, client.UnsafeDisableDeepCopy)", "schedule and logs: in the cache, or read the archive first?"},
	{"bkplugin.io", "plugininvocations", "list", "internal/shim/history.go", "s.cache.List(ctx, &list, client.InNamespace(s.namespace), client.MatchingLabels{bkv1.LabelPlugin: q.Code})", "the history list's live part"},
	{"", "secrets", "create", "internal/sensitive/invoke.go", "c.Create(ctx, secret)", "sensitive inputs"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/direct.go", "s.kube.Get(ctx, client.ObjectKeyFromObject(d.inv), existing)", "direct path: a retry of a call already in the cluster"},
	{"bkplugin.io", "plugininvocations", "create", "internal/shim/direct.go", "err := s.kube.Create(ctx, inv)", "direct path: a first answer POLL or CALLBACK becomes an invocation"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/direct.go", "s.kube.Get(ctx, client.ObjectKeyFromObject(inv), existing)", "direct path: the invocation another replica created first"},
	{"bkplugin.io", "plugininvocations/status", "update", "internal/shim/direct.go", "s.kube.Status().Update(ctx, obj)", "direct path: the first answer recorded in status right after the create"},
	{"bkplugin.io", "plugininvocations", "get", "internal/shim/direct.go", "s.kube.Get(ctx, client.ObjectKeyFromObject(obj), fresh)", "direct path: re-read after a status write conflict"},
	{"", "secrets", "update", "internal/sensitive/execute.go", "c.Update(ctx, secret)", "direct path: sensitive outputs of a first answer POLL or CALLBACK (sensitive.StoreOutputs)"},
	{"", "secrets", "get", "internal/sensitive/invoke.go", "r.Get(ctx, client.ObjectKey{Namespace: inv.Namespace, Name: inv.SensitiveSecretName()}, secret)", "reveal sensitive outputs to the caller"},
	{"", "secrets", "delete", "internal/shim/sensitive.go", "s.kube.Delete(ctx, created, client.Preconditions{UID: &uid})", "an invoke that conflicted (409) removes the Secret it created (issue 15 #9)"},
}

// archiveCalls look like client calls but reach the history archive, a
// database that RBAC does not govern (internal/archive).
var archiveCalls = []use{
	{file: "internal/shim/history.go", site: "archived, err = a.List(ctx, opts)", why: "the history list's archived part"},
	{file: "internal/shim/readthrough.go", site: "rec, err := a.Get(ctx, archive.Key{Namespace: s.namespace, TraceID: traceID})", why: "read-through of a finished invocation"},
}

// clientCall matches a line that calls the Kubernetes client: a method named
// like a verb, called with a context first.
var clientCall = regexp.MustCompile(`\.(Get|List|Create|Update|Patch|Delete|DeleteAllOf|Apply)\(ctx\b`)

// TestRBACIsLeastPrivilege checks each generated ClusterRole against the
// table of what its component's code does: a verb granted that no call
// needs fails (least privilege), as does a verb a call needs that is not
// granted, a table row whose call is gone, and a client call in the code
// that no row accounts for (so the table cannot fall behind the code).
func TestRBACIsLeastPrivilege(t *testing.T) {
	for _, c := range []struct {
		name, role string
		dirs       []string
		uses       []use
	}{
		{"manager", "config/rbac/role.yaml", append([]string{"internal/controller/invocation", "internal/controller/version", "internal/manager", "cmd/manager", "internal/sensitive/execute.go", "internal/callbackkey"}, serverDirs...), append(managerUses, serverUses...)},
		{"shim", "config/rbac/shim/role.yaml", []string{"internal/shim", "cmd/apiserver", "internal/sensitive/invoke.go"}, shimUses},
	} {
		t.Run(c.name, func(t *testing.T) {
			granted := grantedVerbs(t, c.role)
			needed := map[string]bool{}
			for _, u := range c.uses {
				needed[key(u.group, u.resource, u.verb)] = true
				if u.file == "" {
					if u.why == "" {
						t.Errorf("row %s %s has neither a call site nor a reason", u.resource, u.verb)
					}
					continue
				}
				if !fileHas(t, u.file, u.site) {
					t.Errorf("%s no longer calls %q (%s %s): update the table, and the RBAC markers", u.file, u.site, u.resource, u.verb)
				}
			}
			for _, k := range sortedKeys(granted) {
				if !needed[k] {
					t.Errorf("%s grants %s, which no call in the code needs: remove it from the +kubebuilder:rbac markers", c.role, k)
				}
			}
			for _, k := range sortedKeys(needed) {
				if !granted[k] {
					t.Errorf("%s does not grant %s, which the code needs: add it to the +kubebuilder:rbac markers", c.role, k)
				}
			}
			checkCallsAccounted(t, c.dirs, c.uses)
		})
	}
}

// checkCallsAccounted fails for a client call in dirs that no row names. A
// dir ending in .go is one file: a package both components share is split
// into a file per component.
func checkCallsAccounted(t *testing.T, dirs []string, uses []use) {
	t.Helper()
	for _, dir := range dirs {
		pattern := filepath.Join(repoRoot, dir, "*.go")
		if strings.HasSuffix(dir, ".go") {
			pattern = filepath.Join(repoRoot, dir)
		}
		files, err := filepath.Glob(pattern)
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") {
				continue
			}
			rel, _ := filepath.Rel(repoRoot, path)
			forEachLine(t, path, func(n int, line string) {
				if !clientCall.MatchString(line) {
					return
				}
				for _, u := range append(slices.Clip(uses), archiveCalls...) {
					if u.file == rel && u.site != "" && strings.Contains(line, u.site) {
						return
					}
				}
				t.Errorf("%s:%d calls the Kubernetes API (%s) but no row of the RBAC table names it", rel, n, strings.TrimSpace(line))
			})
		}
	}
}

// grantedVerbs reads a ClusterRole and lists its "group resource verb"s.
func grantedVerbs(t *testing.T, file string) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, file))
	if err != nil {
		t.Fatal(err)
	}
	var role rbacv1.ClusterRole
	if err := yaml.Unmarshal(b, &role); err != nil {
		t.Fatalf("decode %s: %v", file, err)
	}
	granted := map[string]bool{}
	for _, r := range role.Rules {
		if len(r.ResourceNames) > 0 || len(r.NonResourceURLs) > 0 {
			t.Errorf("%s: rule %v narrows by name or URL, which this test does not model", file, r)
		}
		for _, g := range r.APIGroups {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if g == "*" || res == "*" || v == "*" {
						t.Errorf("%s grants a wildcard: %s %s %s", file, g, res, v)
					}
					granted[key(g, res, v)] = true
				}
			}
		}
	}
	return granted
}

func key(group, resource, verb string) string {
	if group == "" {
		group = "core"
	}
	return group + " " + resource + " " + verb
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// fileHas tells whether a line of file contains site.
func fileHas(t *testing.T, file, site string) bool {
	t.Helper()
	found := false
	forEachLine(t, filepath.Join(repoRoot, file), func(_ int, line string) {
		found = found || strings.Contains(line, site)
	})
	return found
}

func forEachLine(t *testing.T, path string, fn func(n int, line string)) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		fn(n, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("read %s: %v", path, err)
	}
}

// repoRoot is the repository root, from this package's folder.
const repoRoot = "../.."
