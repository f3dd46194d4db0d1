package server

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

func deployment(want int32, gen, observed int64, st appsv1.DeploymentStatus) *appsv1.Deployment {
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Generation: gen}, Spec: appsv1.DeploymentSpec{Replicas: ptr.To(want)}}
	st.ObservedGeneration = observed
	d.Status = st
	return d
}

func TestConditions(t *testing.T) {
	stalledStatus := appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 1, AvailableReplicas: 1, Conditions: []appsv1.DeploymentCondition{{
		Type: appsv1.DeploymentProgressing, Status: corev1.ConditionFalse, Reason: "ProgressDeadlineExceeded", Message: "ReplicaSet hello-abc has timed out progressing.",
	}}}
	cases := []struct {
		name                       string
		srv                        *bkv1.PluginServer
		obs                        observed
		avail                      metav1.ConditionStatus
		availReason                string
		prog                       metav1.ConditionStatus
		progReason, progMessageHas string
	}{
		{"no Deployment yet", newServer(), observed{},
			metav1.ConditionFalse, bkv1.ServerReasonUnavailable, metav1.ConditionUnknown, bkv1.ServerReasonRollingOut, "does not exist"},
		{"created, no pod ready", newServer(), observed{deployment: deployment(1, 1, 1, appsv1.DeploymentStatus{Replicas: 1, UpdatedReplicas: 1})},
			metav1.ConditionFalse, bkv1.ServerReasonUnavailable, metav1.ConditionTrue, bkv1.ServerReasonRollingOut, "1 of 1 plugin pods updated, 0 available"},
		{"all available", newServer(), observed{deployment: deployment(2, 1, 1, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 2})},
			metav1.ConditionTrue, bkv1.ServerReasonAvailable, metav1.ConditionTrue, bkv1.ServerReasonRolloutComplete, "2 plugin pods"},
		{"new spec not seen by the Deployment controller yet", newServer(), observed{deployment: deployment(2, 2, 1, appsv1.DeploymentStatus{Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2})},
			metav1.ConditionTrue, bkv1.ServerReasonAvailable, metav1.ConditionTrue, bkv1.ServerReasonRollingOut, ""},
		{"rolling out, old pods still serve", newServer(), observed{deployment: deployment(2, 2, 2, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 1, AvailableReplicas: 2})},
			metav1.ConditionTrue, bkv1.ServerReasonAvailable, metav1.ConditionTrue, bkv1.ServerReasonRollingOut, "1 of 2 plugin pods updated"},
		{"rollout stalled", newServer(), observed{deployment: deployment(2, 2, 2, stalledStatus)},
			metav1.ConditionTrue, bkv1.ServerReasonAvailable, metav1.ConditionFalse, bkv1.ServerReasonRolloutStalled, "timed out"},
		{"scaled to zero", newServer(func(s *bkv1.PluginServer) { s.Spec.Replicas = ptr.To[int32](0) }), observed{deployment: deployment(0, 1, 1, appsv1.DeploymentStatus{})},
			metav1.ConditionFalse, bkv1.ServerReasonScaledToZero, metav1.ConditionTrue, bkv1.ServerReasonRolloutComplete, ""},
		{"someone else's Service", newServer(), observed{conflict: "Service hello"},
			metav1.ConditionFalse, bkv1.ServerReasonObjectConflict, metav1.ConditionUnknown, bkv1.ServerReasonObjectConflict, "Service hello exists"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			a, p := conditions(tc.srv, tc.obs)
			if a.Type != bkv1.ConditionAvailable || a.Status != tc.avail || a.Reason != tc.availReason {
				t.Errorf("Available = %s %s (%s); want %s %s", a.Status, a.Reason, a.Message, tc.avail, tc.availReason)
			}
			if p.Type != bkv1.ConditionProgressing || p.Status != tc.prog || p.Reason != tc.progReason || !strings.Contains(p.Message, tc.progMessageHas) {
				t.Errorf("Progressing = %s %s %q; want %s %s containing %q", p.Status, p.Reason, p.Message, tc.prog, tc.progReason, tc.progMessageHas)
			}
			if a.ObservedGeneration != tc.srv.Generation || p.ObservedGeneration != tc.srv.Generation {
				t.Error("conditions do not carry the server's generation")
			}
		})
	}
}

func TestReplicaCounts(t *testing.T) {
	st := bkv1.PluginServerStatus{Replicas: 9, ReadyReplicas: 9}
	replicaCounts(&st, nil)
	if st.Replicas != 0 || st.ReadyReplicas != 0 {
		t.Errorf("without a Deployment: %+v, want zeros", st)
	}
	replicaCounts(&st, deployment(3, 1, 1, appsv1.DeploymentStatus{Replicas: 3, UpdatedReplicas: 2, ReadyReplicas: 2, AvailableReplicas: 1}))
	if st.Replicas != 3 || st.UpdatedReplicas != 2 || st.ReadyReplicas != 2 || st.AvailableReplicas != 1 {
		t.Errorf("counts %+v, want the Deployment's", st)
	}
}
