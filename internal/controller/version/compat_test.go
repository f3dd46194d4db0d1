package version

import (
	"errors"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/sdk/compat"
)

func TestCompatibleCondition(t *testing.T) {
	prev := &bkv1.PluginVersion{ObjectMeta: metav1.ObjectMeta{Name: "hello-1-2-0"}, Spec: bkv1.PluginVersionSpec{Plugin: "hello", Version: "1.2.0"}}
	plv := &bkv1.PluginVersion{ObjectMeta: metav1.ObjectMeta{Name: "hello-1-3-0", Generation: 3}, Spec: bkv1.PluginVersionSpec{Plugin: "hello", Version: "1.3.0"}}
	one := compat.Report{Breaking: []compat.Finding{{Rule: compat.RuleRequiredAdded, Section: compat.SectionInputs, Path: "inputs.name", Message: "name is now required"}}}
	many := compat.Report{}
	for range 500 {
		many.Breaking = append(many.Breaking, compat.Finding{Rule: compat.RuleRemoved, Path: "outputs." + strings.Repeat("x", 50), Message: strings.Repeat("long message ", 10)})
	}
	tests := []struct {
		name       string
		c          compatibility
		wantStatus metav1.ConditionStatus
		wantReason string
		wantIn     []string
	}{
		{"no previous version", compatibility{}, metav1.ConditionTrue, bkv1.VersionReasonCompatible, []string{"no earlier version"}},
		{"compatible", compatibility{previous: prev}, metav1.ConditionTrue, bkv1.VersionReasonCompatible, []string{"1.2.0"}},
		{"breaking: the findings with path and rule", compatibility{previous: prev, report: one}, metav1.ConditionFalse, bkv1.VersionReasonBreaking,
			[]string{"1.2.0", "inputs.name: required-added", "new major version"}},
		{"a schema that is not JSON", compatibility{previous: prev, err: errors.New("inputs: bad")}, metav1.ConditionFalse, bkv1.VersionReasonUncomparable, []string{"inputs: bad"}},
		{"hundreds of findings stay bounded", compatibility{previous: prev, report: many}, metav1.ConditionFalse, bkv1.VersionReasonBreaking, []string{"500 breaking changes", "truncated"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := compatibleCondition(plv, tc.c)
			if c.Type != bkv1.ConditionCompatible || c.Status != tc.wantStatus || c.Reason != tc.wantReason || c.ObservedGeneration != 3 {
				t.Errorf("condition = %+v, want %s/%s at generation 3", c, tc.wantStatus, tc.wantReason)
			}
			for _, s := range tc.wantIn {
				if !strings.Contains(c.Message, s) {
					t.Errorf("message %q lacks %q", c.Message, s)
				}
			}
			if len(c.Message) > maxCompatibleMessage {
				t.Errorf("message is %d bytes, more than %d", len(c.Message), maxCompatibleMessage)
			}
		})
	}
}

func TestCompatibilityEvent(t *testing.T) {
	breaking := metav1.Condition{Type: bkv1.ConditionCompatible, Status: metav1.ConditionFalse, Reason: bkv1.VersionReasonBreaking, Message: "breaks"}
	ok := metav1.Condition{Type: bkv1.ConditionCompatible, Status: metav1.ConditionTrue, Reason: bkv1.VersionReasonCompatible}
	if _, emit := compatibilityEvent(nil, ok); emit {
		t.Error("a compatible version emits a warning")
	}
	if ev, emit := compatibilityEvent([]metav1.Condition{ok}, breaking); !emit || ev.reason != EventReasonBreaking || ev.note != "breaks" {
		t.Errorf("turning breaking: %+v, %v", ev, emit)
	}
	if _, emit := compatibilityEvent([]metav1.Condition{breaking}, breaking); emit {
		t.Error("a version that stays breaking emits again on every reconcile")
	}
}

func TestVersionStatusRecordsWhenFirstServed(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	earlier := metav1.NewTime(now.Add(-time.Hour))
	plv := &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Plugin: "hello", Version: "1.2.0"}}
	served := versionObservation{result: probeResult{Reason: bkv1.VersionReasonServing}}
	down := versionObservation{result: probeResult{Reason: bkv1.VersionReasonUnreachable}}

	if st := versionStatus(plv, down, now); st.ServedSince != nil {
		t.Errorf("a version never Ready has servedSince %v", st.ServedSince)
	}
	st := versionStatus(plv, served, now)
	if st.ServedSince == nil || !st.ServedSince.Time.Equal(now) {
		t.Errorf("first Ready: servedSince %v, want %v", st.ServedSince, now)
	}
	plv.Status.ServedSince = &earlier
	if st := versionStatus(plv, down, now); st.ServedSince == nil || !st.ServedSince.Equal(&earlier) {
		t.Errorf("a served version that goes down lost servedSince: %v", st.ServedSince)
	}
	if c := findCondition(st.Conditions, bkv1.ConditionCompatible); c == nil || c.Status != metav1.ConditionTrue {
		t.Errorf("Compatible condition %+v, want True (nothing to replace)", c)
	}
}
