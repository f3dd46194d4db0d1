package versions

import (
	"hash/fnv"

	"k8s.io/apimachinery/pkg/api/equality"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// This file holds what a canary means to both binaries: whether a trace id
// falls in a canary's share, and whether the manager rolled a canary back.
// The shim and the manager resolve ranges with the same functions, so an
// invocation's version is the same whoever resolves it.

// canaryBuckets is the resolution of a weight: one bucket per percent.
const canaryBuckets = 100

// InCanary reports whether the invocation with traceID goes to canary plv,
// whose spec.canary.weight is the share in percent. The choice hashes the
// trace id with the canary's plugin and version, so that a retry with the
// same trace id lands on the same version and two canaries draw
// independent samples. An empty trace id is in a canary only of weight 100.
func InCanary(plv *bkv1.PluginVersion, traceID string) bool {
	c := plv.Spec.Canary
	switch {
	case c == nil || c.Weight >= canaryBuckets:
		return true
	case c.Weight <= 0 || traceID == "":
		return false
	}
	return int32(CanaryBucket(plv.Spec.Plugin, plv.Spec.Version, traceID)) < c.Weight
}

// CanaryBucket is traceID's bucket (0 to 99) for the canary version
// version of plugin code.
func CanaryBucket(code, version, traceID string) uint64 {
	h := fnv.New64a()
	// Writes to a hash never fail.
	_, _ = h.Write([]byte(code))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(version))
	_, _ = h.Write([]byte{0})
	_, _ = h.Write([]byte(traceID))
	// FNV's low bits follow its last bytes closely; a murmur3 finalizer
	// spreads every input bit over them before the modulo.
	x := h.Sum64()
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	return x % canaryBuckets
}

// CanaryRolledBack reports whether the manager rolled canary plv back: its
// status says RolledBack for the spec.canary it carries now. Changing
// spec.canary re-arms the canary; removing it promotes the version.
func CanaryRolledBack(plv *bkv1.PluginVersion) bool {
	st := plv.Status.Canary
	return plv.Spec.Canary != nil && st != nil && st.State == bkv1.CanaryStateRolledBack &&
		equality.Semantic.DeepEqual(st.Spec, plv.Spec.Canary)
}
