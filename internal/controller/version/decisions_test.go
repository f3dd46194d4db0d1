package version

import (
	"net/http"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// These tables test the PluginVersion reconciler's decisions without a
// cluster; TestNextProbe (pluginversion_backoff_test.go) has the requeue's.

var created = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// registration is PluginVersion name of demo 1.0.0, created offset after created.
func registration(name string, offset time.Duration) bkv1.PluginVersion {
	return bkv1.PluginVersion{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", CreationTimestamp: metav1.NewTime(created.Add(offset))},
		Spec:       bkv1.PluginVersionSpec{Plugin: "demo", Version: "1.0.0"},
	}
}

func TestOldestOlder(t *testing.T) {
	self := registration("self", time.Hour)
	deleting := registration("deleting", 0)
	now := metav1.NewTime(created)
	deleting.DeletionTimestamp = &now
	cases := []struct {
		name     string
		siblings []bkv1.PluginVersion
		want     string
	}{
		{name: "no siblings", want: ""},
		{name: "only younger siblings", siblings: []bkv1.PluginVersion{registration("young", 2*time.Hour)}, want: ""},
		{name: "the oldest of several older ones",
			siblings: []bkv1.PluginVersion{registration("b", 30*time.Minute), registration("a", 10*time.Minute), registration("young", 2*time.Hour)},
			want:     "a"},
		{name: "same age: the name breaks the tie",
			siblings: []bkv1.PluginVersion{registration("zz", time.Hour), registration("aa", time.Hour)}, want: "aa"},
		{name: "one being deleted does not count", siblings: []bkv1.PluginVersion{deleting}, want: ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := oldestOlder(tc.siblings, &self)
			name := ""
			if got != nil {
				name = got.Name
			}
			if name != tc.want {
				t.Errorf("oldestOlder = %q, want %q", name, tc.want)
			}
		})
	}
}

func TestConflictResult(t *testing.T) {
	self, older := registration("self", time.Hour), registration("first", 0)
	got := conflictResult(&self, &older)
	want := "PluginVersion first registers plugin demo version 1.0.0 already (created 2025-06-01T12:00:00Z); delete one of them"
	if got.Reason != bkv1.VersionReasonConflict || got.Message != want || got.ready() {
		t.Errorf("conflictResult = %+v, want Conflict %q", got, want)
	}
}

func TestVersionStatus(t *testing.T) {
	serving := probeResult{bkv1.VersionReasonServing, "served"}
	down := probeResult{bkv1.VersionReasonUnreachable, "refused"}
	earlier := metav1.NewTime(created.Add(-time.Hour))
	cases := []struct {
		name       string
		before     []metav1.Condition
		obs        versionObservation
		wantStatus metav1.ConditionStatus
		keepTime   bool
	}{
		{name: "a first probe that finds it served", obs: versionObservation{endpoint: "http://p:8080", result: serving},
			wantStatus: metav1.ConditionTrue},
		{name: "still down keeps the time it went down, which the backoff counts from",
			before: []metav1.Condition{{Type: bkv1.ConditionReady, Status: metav1.ConditionFalse, Reason: bkv1.VersionReasonUnreachable, LastTransitionTime: earlier}},
			obs:    versionObservation{endpoint: "http://p:8080", result: down}, wantStatus: metav1.ConditionFalse, keepTime: true},
		{name: "an endpoint that resolves to nothing clears the URL",
			obs:        versionObservation{result: probeResult{bkv1.VersionReasonInvalidEndpoint, "no port"}},
			wantStatus: metav1.ConditionFalse},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			plv := registration("self", 0)
			plv.Generation = 4
			plv.Status.EndpointURL = "http://stale"
			plv.Status.Conditions = tc.before
			st := versionStatus(&plv, tc.obs, time.Unix(1_700_000_000, 0))
			if st.EndpointURL != tc.obs.endpoint || st.ObservedGeneration != 4 {
				t.Errorf("status = %+v", st)
			}
			c := meta.FindStatusCondition(st.Conditions, bkv1.ConditionReady)
			if c == nil || c.Status != tc.wantStatus || c.Reason != tc.obs.result.Reason || c.Message != tc.obs.result.Message || c.ObservedGeneration != 4 {
				t.Fatalf("Ready condition = %+v, want %s %s", c, tc.wantStatus, tc.obs.result.Reason)
			}
			if tc.keepTime != c.LastTransitionTime.Equal(&earlier) {
				t.Errorf("lastTransitionTime = %v, kept = %v, want kept = %v", c.LastTransitionTime, !tc.keepTime, tc.keepTime)
			}
			if plv.Status.EndpointURL != "http://stale" {
				t.Error("versionStatus modified its input")
			}
		})
	}
}

func TestReadinessEvent(t *testing.T) {
	ready := []metav1.Condition{{Type: bkv1.ConditionReady, Status: metav1.ConditionTrue, Reason: bkv1.VersionReasonServing}}
	unreachable := []metav1.Condition{{Type: bkv1.ConditionReady, Status: metav1.ConditionFalse, Reason: bkv1.VersionReasonUnreachable}}
	older := registration("first", 0)
	cases := []struct {
		name        string
		before      []metav1.Condition
		obs         versionObservation
		wantEmit    bool
		wantType    string
		wantReason  string
		wantNote    string
		wantRelated bool
	}{
		{name: "becoming Ready", obs: versionObservation{result: probeResult{bkv1.VersionReasonServing, "served"}},
			wantEmit: true, wantType: corev1.EventTypeNormal, wantReason: EventReasonVersionReady, wantNote: "served"},
		{name: "staying Ready is quiet", before: ready, obs: versionObservation{result: probeResult{bkv1.VersionReasonServing, "served again"}}},
		{name: "going down", before: ready, obs: versionObservation{result: probeResult{bkv1.VersionReasonUnreachable, "refused"}},
			wantEmit: true, wantType: corev1.EventTypeWarning, wantReason: EventReasonVersionNotReady, wantNote: "Unreachable: refused"},
		{name: "staying down for the same reason is quiet", before: unreachable,
			obs: versionObservation{result: probeResult{bkv1.VersionReasonUnreachable, "timed out this time"}}},
		{name: "down for another reason", before: unreachable,
			obs:      versionObservation{result: probeResult{bkv1.VersionReasonNotServed, "404"}},
			wantEmit: true, wantType: corev1.EventTypeWarning, wantReason: EventReasonVersionNotReady, wantNote: "VersionNotServed: 404"},
		{name: "a conflict names the older registration", before: ready,
			obs:      versionObservation{older: &older, result: probeResult{bkv1.VersionReasonConflict, "duplicate"}},
			wantEmit: true, wantType: corev1.EventTypeWarning, wantReason: EventReasonVersionNotReady, wantNote: "Conflict: duplicate", wantRelated: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ev, ok := readinessEvent(tc.before, tc.obs)
			if ok != tc.wantEmit {
				t.Fatalf("emit = %v, want %v", ok, tc.wantEmit)
			}
			if !ok {
				return
			}
			if ev.eventType != tc.wantType || ev.reason != tc.wantReason || ev.note != tc.wantNote || (ev.related != nil) != tc.wantRelated {
				t.Errorf("event = %+v, want %s %s %q related=%v", ev, tc.wantType, tc.wantReason, tc.wantNote, tc.wantRelated)
			}
		})
	}
}

func TestJudgeDetail(t *testing.T) {
	plv := &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Plugin: "demo", Version: "1.0.0", Inputs: &apiextensionsv1.JSON{Raw: []byte(`{"type":"object"}`)}}}
	u := "http://p:8080/bk_plugin/detail/1.0.0"
	cases := []struct {
		name   string
		code   int
		body   string
		reason string
		msg    string
	}{
		{"served as specified", http.StatusOK, `{"result":true,"message":"","data":{"version":"1.0.0","inputs":{"type":"object"}}}`,
			bkv1.VersionReasonServing, "the plugin pod at http://p:8080 serves version 1.0.0"},
		{"404 with the envelope's message", http.StatusNotFound, `{"result":false,"message":"no such version","data":null}`,
			bkv1.VersionReasonNotServed, "GET " + u + " answered 404: no such version"},
		{"a 502 with an empty body", http.StatusBadGateway, ``,
			bkv1.VersionReasonUnreachable, "GET " + u + " answered 502 Bad Gateway: empty body"},
		{"inputs that differ", http.StatusOK, `{"result":true,"message":"","data":{"version":"1.0.0","inputs":{"type":"string"}}}`,
			bkv1.VersionReasonSchemaMismatch, "the inputs schema of the spec differs from what the plugin pod at http://p:8080 serves for version 1.0.0; regenerate the PluginVersion from the plugin's manifest"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status := http.StatusText(tc.code)
			got := judgeDetail(plv, "http://p:8080", u, tc.code, strconv.Itoa(tc.code)+" "+status, []byte(tc.body))
			if got.Reason != tc.reason || got.Message != tc.msg {
				t.Errorf("judgeDetail = %+v, want %s %q", got, tc.reason, tc.msg)
			}
		})
	}
}
