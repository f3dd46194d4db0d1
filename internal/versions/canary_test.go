package versions

import (
	"fmt"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// withCanary returns v with spec.canary of weight, its status as state
// says ("" none, or Active/RolledBack for the same spec).
func withCanary(v bkv1.PluginVersion, weight int32, state string) bkv1.PluginVersion {
	v.Spec.Canary = &bkv1.CanarySpec{Weight: weight, FailureThresholdPercent: 50, MinSamples: 20}
	if state != "" {
		v.Status.Canary = &bkv1.CanaryStatus{State: state, Spec: v.Spec.Canary.DeepCopy()}
	}
	return v
}

// incompatible returns v marked Compatible=False.
func incompatible(v bkv1.PluginVersion) bkv1.PluginVersion {
	v.Status.Conditions = append(v.Status.Conditions, metav1.Condition{
		Type: bkv1.ConditionCompatible, Status: metav1.ConditionFalse, Reason: bkv1.VersionReasonBreaking})
	return v
}

// traceIDs returns n trace ids made as the shim makes them.
func traceIDs(t *testing.T, n int) []string {
	out := make([]string, n)
	for i := range out {
		id, err := stdapi.NewTraceID()
		if err != nil {
			t.Fatal(err)
		}
		out[i] = id
	}
	return out
}

func TestResolveSkipsIncompatibleAndRolledBack(t *testing.T) {
	const ready = bkv1.VersionReasonServing
	base := []bkv1.PluginVersion{plv("hello", "1.2.0", ready)}
	tests := []struct {
		name      string
		extra     bkv1.PluginVersion
		requested string
		want      string
	}{
		{"a compatible newer version wins the range", plv("hello", "1.3.0", ready), "^1.2", "hello-1.3.0"},
		{"a breaking version is skipped by the range", incompatible(plv("hello", "1.3.0", ready)), "^1.2", "hello-1.2.0"},
		{"a breaking version is still resolved exactly", incompatible(plv("hello", "1.3.0", ready)), "1.3.0", "hello-1.3.0"},
		{"a full-weight canary takes the whole range", withCanary(plv("hello", "1.3.0", ready), 100, bkv1.CanaryStateActive), "^1.2", "hello-1.3.0"},
		{"a zero-weight canary takes none of it", withCanary(plv("hello", "1.3.0", ready), 0, bkv1.CanaryStateActive), "^1.2", "hello-1.2.0"},
		{"a rolled-back canary takes none of it", withCanary(plv("hello", "1.3.0", ready), 100, bkv1.CanaryStateRolledBack), "^1.2", "hello-1.2.0"},
		{"a rolled-back canary is still resolved exactly", withCanary(plv("hello", "1.3.0", ready), 100, bkv1.CanaryStateRolledBack), "1.3.0", "hello-1.3.0"},
		{"a canary not yet observed is armed", withCanary(plv("hello", "1.3.0", ready), 100, ""), "^1.2", "hello-1.3.0"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			all := append(append([]bkv1.PluginVersion{}, base...), tc.extra)
			got, err := Resolve(all, Request{Plugin: "hello", Version: tc.requested, TraceID: "0123456789abcdef0123456789abcdef"})
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.Name != tc.want {
				t.Errorf("Resolve(%s) = %s, want %s", tc.requested, got.Name, tc.want)
			}
		})
	}
}

func TestRolledBackHoldsOnlyForTheSameCanarySpec(t *testing.T) {
	v := withCanary(plv("hello", "1.3.0", bkv1.VersionReasonServing), 10, bkv1.CanaryStateRolledBack)
	if !CanaryRolledBack(&v) {
		t.Fatal("a RolledBack status for the current spec.canary is not a rollback")
	}
	v.Spec.Canary.Weight = 5
	if CanaryRolledBack(&v) {
		t.Error("a changed spec.canary still counts as rolled back; changing it must re-arm the canary")
	}
	v.Spec.Canary = nil
	if CanaryRolledBack(&v) {
		t.Error("a version without spec.canary (promoted) counts as rolled back")
	}
}

// TestCanarySplit resolves "^1.2" for 1,000 trace ids with the newest
// version weighted 10, 50 and 90 and checks the share it gets, and that
// the same trace id always resolves alike.
func TestCanarySplit(t *testing.T) {
	const n = 1000
	ids := traceIDs(t, n)
	for _, weight := range []int32{10, 50, 90} {
		t.Run(fmt.Sprintf("weight %d", weight), func(t *testing.T) {
			all := []bkv1.PluginVersion{
				plv("hello", "1.2.0", bkv1.VersionReasonServing),
				withCanary(plv("hello", "1.3.0", bkv1.VersionReasonServing), weight, bkv1.CanaryStateActive),
				plv("hello", "2.0.0", bkv1.VersionReasonServing),
			}
			canary := 0
			for _, id := range ids {
				got, err := Resolve(all, Request{Plugin: "hello", Version: "^1.2", TraceID: id})
				if err != nil {
					t.Fatal(err)
				}
				switch got.Spec.Version {
				case "1.3.0":
					canary++
				case "1.2.0":
				default:
					t.Fatalf("^1.2 resolved to %s", got.Spec.Version)
				}
				again, _ := Resolve(all, Request{Plugin: "hello", Version: "^1.2", TraceID: id})
				if again.Name != got.Name {
					t.Fatalf("trace id %s resolved to %s, then %s", id, got.Name, again.Name)
				}
			}
			// Binomial: 4 standard deviations of n*p*(1-p) is at most 32
			// at p=0.5; 40 leaves room and still catches a wrong weight.
			want := int(weight) * n / 100
			if d := canary - want; d < -40 || d > 40 {
				t.Errorf("the canary took %d of %d invocations, want %d±40", canary, n, want)
			}
			t.Logf("weight %d: canary took %d of %d", weight, canary, n)
		})
	}
}

func TestInCanaryWithoutTraceID(t *testing.T) {
	v := withCanary(plv("hello", "1.3.0", bkv1.VersionReasonServing), 99, bkv1.CanaryStateActive)
	if InCanary(&v, "") {
		t.Error("an empty trace id fell in the canary")
	}
	full := withCanary(plv("hello", "1.3.0", bkv1.VersionReasonServing), 100, bkv1.CanaryStateActive)
	if !InCanary(&full, "") {
		t.Error("a canary of weight 100 does not take a call without a trace id")
	}
	all := []bkv1.PluginVersion{plv("hello", "1.2.0", bkv1.VersionReasonServing), v}
	got, err := ResolveVersion(all, "hello", "^1.2")
	if err != nil || got.Spec.Version != "1.2.0" {
		t.Errorf("ResolveVersion without a trace id = %v, %v; want 1.2.0", got, err)
	}
}
