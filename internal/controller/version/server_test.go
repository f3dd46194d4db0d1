package version

import (
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func TestServerGate(t *testing.T) {
	plv := &bkv1.PluginVersion{ObjectMeta: metav1.ObjectMeta{Namespace: "plugins", Name: "hello-1-0-0"}}
	plv.Spec.Endpoint.Server = &bkv1.ServerReference{Name: "hello"}
	server := func(conds ...metav1.Condition) *bkv1.PluginServer {
		return &bkv1.PluginServer{Status: bkv1.PluginServerStatus{Conditions: conds}}
	}
	cases := []struct {
		name    string
		srv     *bkv1.PluginServer
		pass    bool
		message string
	}{
		{"missing server", nil, false, "PluginServer hello does not exist in namespace plugins"},
		{"no availability yet", server(), false, "has not reported availability"},
		{"unavailable, with its reason", server(metav1.Condition{Type: bkv1.ConditionAvailable, Status: metav1.ConditionFalse,
			Reason: bkv1.ServerReasonScaledToZero, Message: "replicas is 0"}), false, "is not Available: ScaledToZero: replicas is 0"},
		{"unknown counts as unavailable", server(metav1.Condition{Type: bkv1.ConditionAvailable, Status: metav1.ConditionUnknown, Reason: "X"}), false, "is not Available"},
		{"available", server(metav1.Condition{Type: bkv1.ConditionAvailable, Status: metav1.ConditionTrue, Reason: bkv1.ServerReasonAvailable}), true, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			res, ok := serverGate(plv, tc.srv)
			if ok != tc.pass {
				t.Fatalf("pass = %v, want %v (%+v)", ok, tc.pass, res)
			}
			if !ok && (res.Reason != bkv1.VersionReasonServerUnavailable || !strings.Contains(res.Message, tc.message)) {
				t.Errorf("result %+v: want %s saying %q", res, bkv1.VersionReasonServerUnavailable, tc.message)
			}
		})
	}
}
