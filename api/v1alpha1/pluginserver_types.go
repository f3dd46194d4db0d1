package v1alpha1

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PluginServerSpec says how to run a plugin's server from its image: the
// operator owns a Deployment and a Service for it, with security defaults a
// plugin never needs to loosen (non-root, read-only root file system, no
// privilege escalation, no capabilities, the runtime's seccomp profile).
//
// +kubebuilder:validation:XValidation:rule="!(has(self.replicas) && has(self.autoscaling))",message="set replicas or autoscaling, not both"
type PluginServerSpec struct {
	// Image is the plugin's container image, such as reg.example.com/hello:1.2.0.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=1024
	// +kubebuilder:validation:XValidation:rule="!self.contains(' ')",message="image must not contain spaces"
	Image string `json:"image"`

	// ImagePullPolicy is the container's pull policy; Kubernetes' default
	// when unset.
	// +optional
	// +kubebuilder:validation:Enum=Always;IfNotPresent;Never
	ImagePullPolicy corev1.PullPolicy `json:"imagePullPolicy,omitempty"`

	// Replicas is the fixed number of plugin pods; 1 when neither replicas
	// nor autoscaling is set. 0 stops the server (its versions turn not
	// Ready).
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=1000
	Replicas *int32 `json:"replicas,omitempty"`

	// Autoscaling bounds the number of plugin pods; the operator owns a
	// HorizontalPodAutoscaler (autoscaling/v2) when maxReplicas is above
	// minReplicas.
	// +optional
	Autoscaling *PluginServerAutoscaling `json:"autoscaling,omitempty"`

	// Port is the container port the plugin's server listens on. The
	// Service exposes it as port 80, which PluginVersions naming this
	// server call.
	// +optional
	// +kubebuilder:default=8080
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`

	// Command replaces the image's entrypoint.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	Command []string `json:"command,omitempty"`

	// Args are the container's arguments. When neither command nor args is
	// set they are "serve --addr :<port>", the Go SDK's serve command.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=256
	Args []string `json:"args,omitempty"`

	// Resources are the plugin container's requests and limits.
	// +optional
	Resources *corev1.ResourceRequirements `json:"resources,omitempty"`

	// Env sets environment variables of the plugin container. Values may
	// come from Secrets and ConfigMaps of the server's own namespace only
	// (a pod cannot name another namespace's).
	// +optional
	// +listType=map
	// +listMapKey=name
	// +kubebuilder:validation:MaxItems=256
	Env []corev1.EnvVar `json:"env,omitempty"`

	// EnvFrom sets environment variables from whole Secrets or ConfigMaps
	// of the server's namespace.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	EnvFrom []corev1.EnvFromSource `json:"envFrom,omitempty"`

	// ServiceAccountName runs the plugin pods as this ServiceAccount of the
	// namespace. Unset runs them as the namespace's default account without
	// a mounted API token: plugins need no Kubernetes API.
	// +optional
	// +kubebuilder:validation:MaxLength=253
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$`
	ServiceAccountName string `json:"serviceAccountName,omitempty"`

	// RunAsUser is the UID the plugin runs as; the image's USER when unset,
	// which must then be numeric and not 0 (runAsNonRoot is enforced).
	// +optional
	// +kubebuilder:validation:Minimum=1
	RunAsUser *int64 `json:"runAsUser,omitempty"`

	// RetireGracePeriodSeconds bounds how long a deleted server waits for
	// the live invocations of the versions it serves to finish; unset means
	// the manager's --retire-grace-period.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2592000
	RetireGracePeriodSeconds *int64 `json:"retireGracePeriodSeconds,omitempty"`
}

// PluginServerAutoscaling bounds a HorizontalPodAutoscaler.
//
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="minReplicas must not exceed maxReplicas"
type PluginServerAutoscaling struct {
	// MinReplicas is the fewest plugin pods; 1 when unset.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// MaxReplicas is the most plugin pods.
	// +required
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1000
	MaxReplicas int32 `json:"maxReplicas"`

	// TargetCPUUtilizationPercentage is the average CPU use, in percent of
	// the request, the autoscaler aims at; 80 when unset. It needs a CPU
	// request in resources.
	// +optional
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	TargetCPUUtilizationPercentage *int32 `json:"targetCPUUtilizationPercentage,omitempty"`
}

// PluginServerStatus is what the operator last observed of the server's
// Deployment and Service.
type PluginServerStatus struct {
	// ObservedGeneration is the generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// Replicas is the number of plugin pods of the Deployment.
	// +optional
	Replicas int32 `json:"replicas,omitempty"`

	// UpdatedReplicas is the number of plugin pods running the current spec.
	// +optional
	UpdatedReplicas int32 `json:"updatedReplicas,omitempty"`

	// ReadyReplicas is the number of ready plugin pods.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`

	// AvailableReplicas is the number of plugin pods ready for at least the
	// Deployment's minReadySeconds.
	// +optional
	AvailableReplicas int32 `json:"availableReplicas,omitempty"`

	// Endpoint is the base URL of the server's Service, which PluginVersions
	// naming the server call.
	// +optional
	Endpoint string `json:"endpoint,omitempty"`

	// Conditions hold Available (some plugin pod serves), Progressing (a
	// rollout is under way or done) and, while the server is being
	// deleted, Retiring (why deletion waits).
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`
}

// PluginServer runs a plugin's server from its image: the operator owns a
// Deployment and a Service for it, and PluginVersions name it as their
// endpoint. Many versions served by one image share one server.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:validation:XValidation:rule="size(self.metadata.name) <= 63 && self.metadata.name.matches('^[a-z]([-a-z0-9]*[a-z0-9])?$')",message="metadata.name must be a DNS label that starts with a letter, because it names the server's Service"
// +kubebuilder:resource:shortName=plsrv,categories=bkplugin
// +kubebuilder:printcolumn:name="Image",type=string,JSONPath=`.spec.image`
// +kubebuilder:printcolumn:name="Ready",type=integer,JSONPath=`.status.readyReplicas`
// +kubebuilder:printcolumn:name="Available",type=string,JSONPath=`.status.conditions[?(@.type=="Available")].status`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PluginServer struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec says how to run the server.
	// +required
	Spec PluginServerSpec `json:"spec"`

	// Status is what the operator observed.
	// +optional
	Status PluginServerStatus `json:"status,omitempty"`
}

// PluginServerList is a list of PluginServers.
//
// +kubebuilder:object:root=true
type PluginServerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PluginServer `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PluginServer{}, &PluginServerList{})
}
