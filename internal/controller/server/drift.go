package server

import (
	"maps"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// The functions of this file decide whether an existing owned object must
// change, and change it in memory; the reconciler writes it when they say
// so. They compare the spec hash the operator last wrote with the desired
// one, not the objects themselves, because the API server fills defaults
// into what it stores and a field-by-field comparison would see drift on
// every reconcile.

// controlledBy reports whether srv is obj's controller: the operator
// changes only objects it created, and never adopts one of the same name.
func controlledBy(obj metav1.Object, srv *bkv1.PluginServer) bool {
	ref := metav1.GetControllerOf(obj)
	return ref != nil && ref.UID == srv.UID
}

// mergeDeployment copies onto actual what desired sets and reports whether
// anything changed. When hpa is true the autoscaler owns the replicas.
func mergeDeployment(desired, actual *appsv1.Deployment, hpa bool) bool {
	changed := mergeMeta(&desired.ObjectMeta, &actual.ObjectMeta) || imageEdited(desired, actual)
	if changed {
		actual.Spec.Template = desired.Spec.Template
		actual.Spec.Strategy = desired.Spec.Strategy
		actual.Spec.RevisionHistoryLimit = desired.Spec.RevisionHistoryLimit
	}
	if !hpa && ptr.Deref(actual.Spec.Replicas, 1) != ptr.Deref(desired.Spec.Replicas, 1) {
		actual.Spec.Replicas = desired.Spec.Replicas
		changed = true
	}
	return changed
}

// mergeService copies onto actual what desired sets (type, selector,
// ports; the cluster IP stays) and reports whether anything changed.
func mergeService(desired, actual *corev1.Service) bool {
	if !mergeMeta(&desired.ObjectMeta, &actual.ObjectMeta) && !routingEdited(desired, actual) {
		return false
	}
	actual.Spec.Type = desired.Spec.Type
	actual.Spec.Selector = desired.Spec.Selector
	actual.Spec.Ports = desired.Spec.Ports
	return true
}

// mergeHPA copies desired's spec onto actual and reports whether anything
// changed.
func mergeHPA(desired, actual *autoscalingv2.HorizontalPodAutoscaler) bool {
	if !mergeMeta(&desired.ObjectMeta, &actual.ObjectMeta) {
		return false
	}
	actual.Spec = desired.Spec
	return true
}

// imageEdited reports whether someone changed the plugin container's image
// behind the operator's back (kubectl set image): the hash still matches,
// but the pods would not run the server's spec. The image is compared
// because the API server never rewrites it; fields it defaults are not.
func imageEdited(desired, actual *appsv1.Deployment) bool {
	want := desired.Spec.Template.Spec.Containers[0]
	for _, c := range actual.Spec.Template.Spec.Containers {
		if c.Name == want.Name {
			return c.Image != want.Image
		}
	}
	return true
}

// routingEdited reports whether someone changed where the Service sends
// traffic: its selector, or a port's number or target.
func routingEdited(desired, actual *corev1.Service) bool {
	if !maps.Equal(desired.Spec.Selector, actual.Spec.Selector) || len(desired.Spec.Ports) != len(actual.Spec.Ports) {
		return true
	}
	for i, p := range desired.Spec.Ports {
		a := actual.Spec.Ports[i]
		if a.Port != p.Port || a.TargetPort != p.TargetPort {
			return true
		}
	}
	return false
}

// mergeMeta sets desired's labels and spec hash on actual, keeping labels
// and annotations others set, and reports whether the spec hash or a label
// differed.
func mergeMeta(desired, actual *metav1.ObjectMeta) bool {
	changed := false
	for k, v := range desired.Labels {
		if actual.Labels[k] != v {
			if actual.Labels == nil {
				actual.Labels = map[string]string{}
			}
			actual.Labels[k] = v
			changed = true
		}
	}
	want := desired.Annotations[AnnotationSpecHash]
	if actual.Annotations[AnnotationSpecHash] != want {
		if actual.Annotations == nil {
			actual.Annotations = map[string]string{}
		}
		actual.Annotations[AnnotationSpecHash] = want
		// A changed label alone would not need the spec rewritten, but
		// rewriting an unchanged spec is a no-op for the Deployment
		// controller, so the callers keep one rule.
		return true
	}
	return changed
}
