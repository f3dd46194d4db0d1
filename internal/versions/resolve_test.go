package versions

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// plv builds a PluginVersion of plugin code and version named after them,
// whose Ready condition is True when reason is Serving, False with reason
// otherwise, and absent when reason is "".
func plv(code, version, reason string) bkv1.PluginVersion {
	v := bkv1.PluginVersion{
		ObjectMeta: metav1.ObjectMeta{
			Name:              code + "-" + version,
			CreationTimestamp: metav1.NewTime(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)),
		},
		Spec: bkv1.PluginVersionSpec{Plugin: code, Version: version},
	}
	if reason != "" {
		status := metav1.ConditionFalse
		if reason == bkv1.VersionReasonServing {
			status = metav1.ConditionTrue
		}
		v.Status.Conditions = []metav1.Condition{{Type: bkv1.ConditionReady, Status: status, Reason: reason}}
	}
	return v
}

// named returns v renamed, created offset after the common creation time.
func named(v bkv1.PluginVersion, name string, offset time.Duration) bkv1.PluginVersion {
	v.Name = name
	v.CreationTimestamp = metav1.NewTime(v.CreationTimestamp.Add(offset))
	return v
}

func TestResolveVersion(t *testing.T) {
	const (
		ready    = bkv1.VersionReasonServing
		down     = bkv1.VersionReasonUnreachable
		probing  = "" // no condition yet: the first probe has not run
		conflict = bkv1.VersionReasonConflict
	)
	hello := []bkv1.PluginVersion{
		plv("hello", "1.0.0", ready),
		plv("hello", "1.1.0", ready),
		plv("hello", "1.2.3", ready),
		plv("hello", "2.0.0", ready),
		plv("hello", "2.1.0-beta.1", ready),
	}
	tests := []struct {
		name      string
		versions  []bkv1.PluginVersion
		requested string
		want      string // name of the chosen PluginVersion
		wantErr   string // exact error message
		noMatch   bool   // the error wraps ErrNoMatchingVersion
	}{
		{name: "exact", versions: hello, requested: "1.1.0", want: "hello-1.1.0"},
		{name: "exact matches a version that is not Ready",
			versions:  []bkv1.PluginVersion{plv("hello", "1.0.0", down), plv("hello", "1.1.0", ready)},
			requested: "1.0.0", want: "hello-1.0.0"},
		{name: "exact missing", versions: hello, requested: "1.0.1",
			wantErr: "no version of hello matches 1.0.1", noMatch: true},
		{name: "exact skips a conflicting duplicate",
			versions: []bkv1.PluginVersion{
				named(plv("hello", "1.0.0", conflict), "a-dup", time.Second),
				named(plv("hello", "1.0.0", down), "z-first", 0),
			},
			requested: "1.0.0", want: "z-first"},
		{name: "exact only in conflict", versions: []bkv1.PluginVersion{plv("hello", "1.0.0", conflict)},
			requested: "1.0.0", wantErr: "no version of hello matches 1.0.0", noMatch: true},
		{name: "caret", versions: hello, requested: "^1.0", want: "hello-1.2.3"},
		{name: "caret on a major with nothing", versions: hello, requested: "^3",
			wantErr: "no version of hello matches ^3", noMatch: true},
		{name: "tilde", versions: hello, requested: "~1.1", want: "hello-1.1.0"},
		{name: "range", versions: hello, requested: ">=1.1, <1.2", want: "hello-1.1.0"},
		{name: "range across majors", versions: hello, requested: ">=1.2, <3", want: "hello-2.0.0"},
		{name: "wildcard x", versions: hello, requested: "1.x", want: "hello-1.2.3"},
		{name: "wildcard star skips prereleases", versions: hello, requested: "*", want: "hello-2.0.0"},
		{name: "newest Ready preferred over a newer one not Ready",
			versions:  []bkv1.PluginVersion{plv("hello", "1.0.0", ready), plv("hello", "1.1.0", ready), plv("hello", "1.2.0", down)},
			requested: "^1", want: "hello-1.1.0"},
		{name: "newest Ready preferred over a newer one still probing",
			versions:  []bkv1.PluginVersion{plv("hello", "1.2.0", probing), plv("hello", "1.0.0", ready)},
			requested: "^1", want: "hello-1.0.0"},
		{name: "newest satisfying one when none is Ready",
			versions:  []bkv1.PluginVersion{plv("hello", "1.0.0", down), plv("hello", "1.3.0", probing), plv("hello", "2.0.0", ready)},
			requested: "^1", want: "hello-1.3.0"},
		{name: "conflict skipped",
			versions: []bkv1.PluginVersion{
				plv("hello", "1.0.0", ready),
				named(plv("hello", "1.1.0", conflict), "hello-1.1.0-dup", time.Second),
			},
			requested: "^1", want: "hello-1.0.0"},
		{name: "conflict only",
			versions:  []bkv1.PluginVersion{plv("hello", "1.1.0", conflict)},
			requested: "^1", wantErr: "no version of hello matches ^1", noMatch: true},
		{name: "prerelease matched by a constraint naming one", versions: hello, requested: ">=2.1.0-0", want: "hello-2.1.0-beta.1"},
		{name: "prerelease exact", versions: hello, requested: "2.1.0-beta.1", want: "hello-2.1.0-beta.1"},
		{name: "prerelease not matched by a plain constraint", versions: hello, requested: ">=2.1",
			wantErr: "no version of hello matches >=2.1", noMatch: true},
		{name: "invalid constraint", versions: hello, requested: "one point oh",
			wantErr: `invalid version constraint "one point oh": `},
		{name: "other plugin's versions ignored",
			versions:  []bkv1.PluginVersion{plv("poller", "1.5.0", ready), plv("hello", "1.0.0", ready), plv("poller", "1.0.0", ready)},
			requested: "^1", want: "hello-1.0.0"},
		{name: "other plugin's exact version ignored",
			versions:  []bkv1.PluginVersion{plv("poller", "1.5.0", ready)},
			requested: "1.5.0", wantErr: "no version of hello matches 1.5.0", noMatch: true},
		{name: "no versions at all", requested: "*", wantErr: "no version of hello matches *", noMatch: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ResolveVersion(tt.versions, "hello", tt.requested)
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("ResolveVersion(%q) = %s, want error %q", tt.requested, got.Name, tt.wantErr)
				}
				if tt.noMatch && err.Error() != tt.wantErr || !tt.noMatch && !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Errorf("ResolveVersion(%q) error = %q, want %q", tt.requested, err, tt.wantErr)
				}
				if errors.Is(err, ErrNoMatchingVersion) != tt.noMatch {
					t.Errorf("errors.Is(%q, ErrNoMatchingVersion) = %v, want %v", err, !tt.noMatch, tt.noMatch)
				}
				return
			}
			if err != nil {
				t.Fatalf("ResolveVersion(%q): %v", tt.requested, err)
			}
			if got.Name != tt.want {
				t.Errorf("ResolveVersion(%q) = %s, want %s", tt.requested, got.Name, tt.want)
			}
		})
	}
}

// The pick among duplicates does not depend on the order of the list.
func TestResolveVersionIgnoresListOrder(t *testing.T) {
	first := named(plv("hello", "1.0.0", bkv1.VersionReasonServing), "b-first", 0)
	sameTimeSmallerName := named(plv("hello", "1.0.0", bkv1.VersionReasonServing), "a-same-time", 0)
	later := named(plv("hello", "1.0.0", bkv1.VersionReasonServing), "0-later", time.Minute)
	for _, requested := range []string{"1.0.0", "^1"} {
		for _, order := range [][]bkv1.PluginVersion{
			{first, sameTimeSmallerName, later},
			{later, sameTimeSmallerName, first},
		} {
			got, err := ResolveVersion(order, "hello", requested)
			if err != nil {
				t.Fatalf("ResolveVersion(%q): %v", requested, err)
			}
			if got.Name != "a-same-time" {
				t.Errorf("ResolveVersion(%q) over %s, %s, %s = %s, want a-same-time",
					requested, order[0].Name, order[1].Name, order[2].Name, got.Name)
			}
		}
	}
}
