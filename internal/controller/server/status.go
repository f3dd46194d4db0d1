package server

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// observed is what the reconciler gathered for the status decision.
type observed struct {
	// deployment is the owned Deployment, nil when it does not exist yet.
	deployment *appsv1.Deployment
	// conflict names an object of the server's name that the operator does
	// not own, "" when there is none.
	conflict string
	// endpoint is the Service's base URL.
	endpoint string
}

// availableCondition and progressingCondition are the server's conditions
// given what was observed.
func conditions(srv *bkv1.PluginServer, o observed) (available, progressing metav1.Condition) {
	available = metav1.Condition{Type: bkv1.ConditionAvailable, ObservedGeneration: srv.Generation}
	progressing = metav1.Condition{Type: bkv1.ConditionProgressing, ObservedGeneration: srv.Generation}
	_, want := autoscaled(srv)
	dep := o.deployment
	switch {
	case o.conflict != "":
		available.Status, available.Reason = metav1.ConditionFalse, bkv1.ServerReasonObjectConflict
		available.Message = o.conflict + " exists and is not owned by this PluginServer; delete or rename it"
	case want == 0:
		available.Status, available.Reason = metav1.ConditionFalse, bkv1.ServerReasonScaledToZero
		available.Message = "replicas is 0"
	case dep == nil || dep.Status.AvailableReplicas == 0:
		available.Status, available.Reason = metav1.ConditionFalse, bkv1.ServerReasonUnavailable
		available.Message = "no plugin pod is available yet"
		if dep != nil {
			available.Message = fmt.Sprintf("0 of %d plugin pods available", ptr.Deref(dep.Spec.Replicas, 1))
		}
	default:
		available.Status, available.Reason = metav1.ConditionTrue, bkv1.ServerReasonAvailable
		available.Message = fmt.Sprintf("%d of %d plugin pods available", dep.Status.AvailableReplicas, ptr.Deref(dep.Spec.Replicas, 1))
	}

	switch {
	case o.conflict != "" || dep == nil:
		progressing.Status, progressing.Reason = metav1.ConditionUnknown, bkv1.ServerReasonRollingOut
		progressing.Message = "the Deployment does not exist yet"
		if o.conflict != "" {
			progressing.Reason, progressing.Message = bkv1.ServerReasonObjectConflict, available.Message
		}
	case stalled(dep):
		progressing.Status, progressing.Reason = metav1.ConditionFalse, bkv1.ServerReasonRolloutStalled
		progressing.Message = "the rollout made no progress within the Deployment's deadline: " + deploymentMessage(dep)
	case rolledOut(dep):
		progressing.Status, progressing.Reason = metav1.ConditionTrue, bkv1.ServerReasonRolloutComplete
		progressing.Message = fmt.Sprintf("%d plugin pods run the current spec", dep.Status.UpdatedReplicas)
	default:
		progressing.Status, progressing.Reason = metav1.ConditionTrue, bkv1.ServerReasonRollingOut
		progressing.Message = fmt.Sprintf("%d of %d plugin pods updated, %d available",
			dep.Status.UpdatedReplicas, ptr.Deref(dep.Spec.Replicas, 1), dep.Status.AvailableReplicas)
	}
	return available, progressing
}

// rolledOut reports whether the Deployment controller saw the latest spec
// and every pod runs it and is available, as kubectl rollout status judges.
func rolledOut(dep *appsv1.Deployment) bool {
	want := ptr.Deref(dep.Spec.Replicas, 1)
	return dep.Status.ObservedGeneration >= dep.Generation &&
		dep.Status.UpdatedReplicas == want &&
		dep.Status.Replicas == want &&
		dep.Status.AvailableReplicas == want
}

// stalled reports whether the Deployment's Progressing condition says its
// progress deadline passed.
func stalled(dep *appsv1.Deployment) bool {
	for _, c := range dep.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded" {
			return true
		}
	}
	return false
}

// deploymentMessage is the message of the Deployment's Progressing condition.
func deploymentMessage(dep *appsv1.Deployment) string {
	for _, c := range dep.Status.Conditions {
		if c.Type == appsv1.DeploymentProgressing {
			return c.Message
		}
	}
	return ""
}

// replicaCounts copies the Deployment's replica counts into status.
func replicaCounts(st *bkv1.PluginServerStatus, dep *appsv1.Deployment) {
	st.Replicas, st.UpdatedReplicas, st.ReadyReplicas, st.AvailableReplicas = 0, 0, 0, 0
	if dep == nil {
		return
	}
	st.Replicas = dep.Status.Replicas
	st.UpdatedReplicas = dep.Status.UpdatedReplicas
	st.ReadyReplicas = dep.Status.ReadyReplicas
	st.AvailableReplicas = dep.Status.AvailableReplicas
}
