package server

import (
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	k8slabels "k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheByObject limits the manager's cache of Deployments, Services and
// HorizontalPodAutoscalers to the ones PluginServers own, so that the
// manager does not hold every Deployment and Service of the cluster. An
// object of a server's name that the operator did not make is then absent
// from the cache; creating it fails AlreadyExists, which the reconciler
// reports as a conflict.
func CacheByObject() map[client.Object]cache.ByObject {
	owned := cache.ByObject{Label: k8slabels.SelectorFromSet(k8slabels.Set{"app.kubernetes.io/managed-by": managedBy})}
	return map[client.Object]cache.ByObject{
		&appsv1.Deployment{}:                     owned,
		&corev1.Service{}:                        owned,
		&autoscalingv2.HorizontalPodAutoscaler{}: owned,
	}
}
