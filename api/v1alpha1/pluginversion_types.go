package v1alpha1

import (
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// PluginVersionSpec describes one version of a plugin: where its plugin pod
// answers and the schemas of its inputs and outputs.
type PluginVersionSpec struct {
	// Plugin is the plugin's code, such as "sops-exec". It names the plugin
	// in the standard API's paths (/plugins/{code}) and in labels.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z0-9]([a-z0-9_-]*[a-z0-9])?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="plugin is immutable"
	Plugin string `json:"plugin"`

	// Version is this version's semantic version, such as "1.2.0". Build
	// metadata ("+build") is not allowed because versions are label values.
	// +required
	// +kubebuilder:validation:MinLength=5
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?$`
	// +kubebuilder:validation:XValidation:rule="self == oldSelf",message="version is immutable"
	Version string `json:"version"`

	// Description says what this version does; the standard API's detail
	// answers it as desc.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	Description string `json:"description,omitempty"`

	// PluginDescription describes the plugin as a whole (the SDK's
	// plugin.Meta.Description, the Python framework's bk_plugin/meta.py):
	// the standard API's meta answers the newest version's. The SDK's
	// manifests write it on every version.
	// +optional
	// +kubebuilder:validation:MaxLength=4096
	PluginDescription string `json:"pluginDescription,omitempty"`

	// EnablePluginCallback declares the finish-callback mode (the Python
	// framework's Meta.enable_plugin_callback): detail answers
	// enable_plugin_callback true, the context inputs declare
	// plugin_callback_info {url, data}, and an invocation given one is
	// finished by a POST of data to url when a later execute ends it.
	// +optional
	EnablePluginCallback bool `json:"enablePluginCallback,omitempty"`

	// Endpoint is where the plugin pod serving this version answers.
	// +required
	Endpoint PluginEndpoint `json:"endpoint"`

	// TimeoutSeconds bounds one call to the plugin pod.
	// +optional
	// +kubebuilder:default=30
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=600
	TimeoutSeconds *int32 `json:"timeoutSeconds,omitempty"`

	// Inputs is the JSON Schema (type/properties/required/definitions) of the
	// invocation inputs.
	// +optional
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Inputs *apiextensionsv1.JSON `json:"inputs,omitempty"`

	// ContextInputs is the JSON Schema of the invocation context (the seeds'
	// context.data).
	// +optional
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	ContextInputs *apiextensionsv1.JSON `json:"contextInputs,omitempty"`

	// Outputs is the JSON Schema of the outputs.
	// +optional
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Outputs *apiextensionsv1.JSON `json:"outputs,omitempty"`

	// Forms holds the version's forms as the standard API's detail answers
	// them, such as {"renderform": "..."}.
	// +optional
	// +kubebuilder:validation:Type=object
	// +kubebuilder:pruning:PreserveUnknownFields
	Forms *apiextensionsv1.JSON `json:"forms,omitempty"`

	// TaskJSON is an optional BK-CI task.json-style description of the
	// inputs and outputs: required fields, rules, rely conditions, groups
	// and sensitive values, enforced on every invocation.
	// +optional
	TaskJSON *TaskDescription `json:"taskJSON,omitempty"`

	// RetireGracePeriodSeconds bounds how long a deleted version waits for
	// its live invocations to finish; unset means the manager's
	// --retire-grace-period.
	// +optional
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=2592000
	RetireGracePeriodSeconds *int64 `json:"retireGracePeriodSeconds,omitempty"`

	// AllowScopes restricts which scopes may invoke this version. When a rule
	// matches the calling app, the call must carry the Bkplugin-Scope-Type
	// and Bkplugin-Scope-Value headers of one of that rule's scopes.
	// +optional
	// +listType=atomic
	// +kubebuilder:validation:MaxItems=64
	AllowScopes []AllowScope `json:"allowScopes,omitempty"`

	// Retry is the retry policy of this version's invocations
	// (retry_types.go); an invocation's own spec.retry wins over it.
	// +optional
	Retry *RetryPolicy `json:"retry,omitempty"`
	// Limits bound how many of this version's invocations run at once and
	// how fast its plugin pods are called (ExecutionLimits).
	// +optional
	Limits *ExecutionLimits `json:"limits,omitempty"`

	// Canary, on the newest version of a range, gives it Weight percent of
	// the range's invocations and rolls it back automatically when its FAIL
	// rate passes the threshold. It is an operational field: it may change
	// on a served version.
	// +optional
	Canary *CanarySpec `json:"canary,omitempty"`
}

// PluginEndpoint locates a plugin pod: a PluginServer or a Service in the
// PluginVersion's namespace, or a URL for plugins running outside the cluster.
//
// +kubebuilder:validation:XValidation:rule="(has(self.service) ? 1 : 0) + (has(self.url) ? 1 : 0) + (has(self.server) ? 1 : 0) == 1",message="exactly one of service, url or server must be set"
type PluginEndpoint struct {
	// Server is a PluginServer in the PluginVersion's namespace; the
	// version is called through the server's Service and is Ready only
	// while the server is Available.
	// +optional
	Server *ServerReference `json:"server,omitempty"`

	// Service is a Service in the PluginVersion's namespace.
	// +optional
	Service *ServiceReference `json:"service,omitempty"`

	// URL is the plugin pod's base URL, such as http://10.0.0.5:8080.
	// +optional
	// +kubebuilder:validation:MaxLength=2048
	// +kubebuilder:validation:XValidation:rule="isURL(self) && (self.startsWith('http://') || self.startsWith('https://'))",message="url must be an absolute http or https URL"
	URL *string `json:"url,omitempty"`
}

// ServiceReference names a Service port in the same namespace.
type ServiceReference struct {
	// Name is the Service's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`

	// Port is the Service port the plugin pod serves on.
	// +optional
	// +kubebuilder:default=80
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=65535
	Port int32 `json:"port,omitempty"`
}

// ServerReference names a PluginServer in the same namespace.
type ServerReference struct {
	// Name is the PluginServer's name.
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=63
	// +kubebuilder:validation:Pattern=`^[a-z]([-a-z0-9]*[a-z0-9])?$`
	Name string `json:"name"`
}

// AllowScope lets the callers of one app invoke the version only from the
// listed scopes.
type AllowScope struct {
	// AppCode is the calling app the rule applies to; empty applies it to
	// every caller.
	// +optional
	// +kubebuilder:validation:MaxLength=64
	AppCode string `json:"appCode,omitempty"`

	// ScopeType is the value the Bkplugin-Scope-Type header must carry,
	// such as "project".
	// +required
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=64
	ScopeType string `json:"scopeType"`

	// ScopeValues lists the accepted Bkplugin-Scope-Value header values;
	// "*" accepts any value of the scope type.
	// +required
	// +listType=set
	// +kubebuilder:validation:MinItems=1
	// +kubebuilder:validation:MaxItems=1024
	// +kubebuilder:validation:items:MaxLength=256
	ScopeValues []string `json:"scopeValues"`
}

// CanarySpec gives the newest version of a range a share of the range's
// invocations while the manager watches its FAIL rate (docs/versioning.md).
type CanarySpec struct {
	// Weight is the percentage of new invocations of a range (such as
	// "^1.2") resolved to this version while it is the newest match; the
	// others go to the previous matching version. The split is decided
	// from the invocation's trace id, so a retry lands on the same version.
	// +required
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	Weight int32 `json:"weight"`

	// FailureThresholdPercent rolls the canary back when the percentage of
	// its invocations that ended FAIL within the window exceeds it.
	// +optional
	// +kubebuilder:default=50
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=100
	FailureThresholdPercent int32 `json:"failureThresholdPercent,omitempty"`

	// Window is how far back the manager counts finished invocations of
	// this version, such as "5m"; at most 1h.
	// +optional
	// +kubebuilder:default="5m"
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('1h')",message="window must be between 1s and 1h"
	Window *metav1.Duration `json:"window,omitempty"`

	// MinSamples is how many invocations of this version must have finished
	// within the window before its FAIL rate is judged.
	// +optional
	// +kubebuilder:default=20
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100000
	MinSamples int32 `json:"minSamples,omitempty"`
}

// PluginVersionStatus is what the manager last observed of the version.
type PluginVersionStatus struct {
	// ObservedGeneration is the generation the status reflects.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`

	// EndpointURL is the base URL the manager calls, resolved from the endpoint.
	// +optional
	EndpointURL string `json:"endpointURL,omitempty"`

	// Conditions hold Ready: True when the plugin pod serves this version
	// with the schemas of the spec.
	// +optional
	// +listType=map
	// +listMapKey=type
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// ServedSince is when the version was first Ready. From then on its
	// contract (schemas, forms, task.json, callback mode) is immutable: the
	// admission webhook refuses changes to it.
	// +optional
	ServedSince *metav1.Time `json:"servedSince,omitempty"`

	// Canary is what the manager observed of spec.canary: the counts over
	// the window and whether it rolled the version back.
	// +optional
	Canary *CanaryStatus `json:"canary,omitempty"`
}

// CanaryStatus is the manager's view of a canary version.
type CanaryStatus struct {
	// State is Active or RolledBack.
	// +optional
	State string `json:"state,omitempty"`
	// Spec is the spec.canary the state refers to; a rollback holds until
	// spec.canary differs from it.
	// +optional
	Spec *CanarySpec `json:"spec,omitempty"`
	// Samples is how many invocations of the version finished within the
	// window, as the manager counted them.
	// +optional
	Samples int32 `json:"samples,omitempty"`
	// Failures is how many of those ended FAIL.
	// +optional
	Failures int32 `json:"failures,omitempty"`
	// Message says why the version was rolled back.
	// +optional
	// +kubebuilder:validation:MaxLength=1024
	Message string `json:"message,omitempty"`
	// LastTransitionTime is when State last changed.
	// +optional
	LastTransitionTime *metav1.Time `json:"lastTransitionTime,omitempty"`
}

// PluginVersion registers one version of a plugin: its schemas and the
// plugin pod that serves it. Users register versions with kubectl apply.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=plv,categories=bkplugin
// +kubebuilder:printcolumn:name="Plugin",type=string,JSONPath=`.spec.plugin`
// +kubebuilder:printcolumn:name="Version",type=string,JSONPath=`.spec.version`
// +kubebuilder:printcolumn:name="Ready",type=string,JSONPath=`.status.conditions[?(@.type=="Ready")].status`
// +kubebuilder:printcolumn:name="Compatible",type=string,JSONPath=`.status.conditions[?(@.type=="Compatible")].status`
// +kubebuilder:printcolumn:name="Weight",type=integer,JSONPath=`.spec.canary.weight`
// +kubebuilder:printcolumn:name="Canary",type=string,JSONPath=`.status.canary.state`
// +kubebuilder:printcolumn:name="Why",type=string,priority=1,JSONPath=`.status.canary.message`
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type PluginVersion struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	// Spec describes the version.
	// +required
	Spec PluginVersionSpec `json:"spec"`

	// Status is what the manager observed.
	// +optional
	Status PluginVersionStatus `json:"status,omitempty"`
}

// PluginVersionList is a list of PluginVersions.
//
// +kubebuilder:object:root=true
type PluginVersionList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []PluginVersion `json:"items"`
}

func init() {
	SchemeBuilder.Register(&PluginVersion{}, &PluginVersionList{})
}
