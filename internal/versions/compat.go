package versions

import (
	"github.com/Masterminds/semver/v3"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
)

// This file holds the registration rules of docs/versioning.md that both
// the admission webhook and the PluginVersion reconciler apply, so that a
// refused version and a version marked Compatible=False are judged alike.

// SameLine reports whether a and b are on one compatibility line: the same
// major version, or, below 1.0.0, the same major and minor (as a caret
// range reads them: "^0.3" is ">=0.3.0 <0.4.0"), so that a 0.x author keeps
// semver's licence to break callers in a minor release.
func SameLine(a, b *semver.Version) bool {
	if a.Major() != b.Major() {
		return false
	}
	return a.Major() != 0 || a.Minor() == b.Minor()
}

// Previous returns the version plv replaces among all (the plugin's
// versions in plv's namespace): the highest version below plv's on its
// line, among those not in Conflict, not being deleted and not themselves
// marked Compatible=False (a breaking version is not a promise callers
// rely on). nil when there is none, for a new major or a first version.
func Previous(all []bkv1.PluginVersion, plv *bkv1.PluginVersion) *bkv1.PluginVersion {
	sv, err := semver.StrictNewVersion(plv.Spec.Version)
	if err != nil {
		return nil
	}
	var best *bkv1.PluginVersion
	var bestV *semver.Version
	for i := range all {
		o := &all[i]
		if o.Spec.Plugin != plv.Spec.Plugin || o.Name == plv.Name ||
			!o.DeletionTimestamp.IsZero() || InConflict(o) || Incompatible(o) {
			continue
		}
		ov, err := semver.StrictNewVersion(o.Spec.Version)
		if err != nil || !ov.LessThan(sv) || !SameLine(ov, sv) {
			continue
		}
		if better(ov, o, bestV, best) {
			best, bestV = o, ov
		}
	}
	return best
}

// CheckPrevious compares prev (nil: nothing to compare) with plv. The
// report lists the changes that break prev's callers; the error says a
// schema is not JSON.
func CheckPrevious(prev, plv *bkv1.PluginVersion) (compat.Report, error) {
	if prev == nil {
		return compat.Report{}, nil
	}
	return compat.Compare(compat.FromSpec(&prev.Spec), compat.FromSpec(&plv.Spec))
}

// Incompatible reports whether the manager marked plv Compatible=False: a
// range never resolves to it.
func Incompatible(plv *bkv1.PluginVersion) bool {
	c := meta.FindStatusCondition(plv.Status.Conditions, bkv1.ConditionCompatible)
	return c != nil && c.Status == metav1.ConditionFalse
}
