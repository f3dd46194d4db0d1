// Package v1alpha1 contains the v1alpha1 API of the bkplugin.io group:
// PluginVersion, one registered version of a BlueKing system plugin, and
// PluginInvocation, one call of such a plugin and all of its state.
//
// +kubebuilder:object:generate=true
// +groupName=bkplugin.io
package v1alpha1

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/scheme"
)

var (
	// GroupVersion is the group and version of this API.
	GroupVersion = schema.GroupVersion{Group: "bkplugin.io", Version: "v1alpha1"}

	// SchemeBuilder adds this API's types to a runtime.Scheme.
	SchemeBuilder = &scheme.Builder{GroupVersion: GroupVersion}

	// AddToScheme adds this API's types to a runtime.Scheme.
	AddToScheme = SchemeBuilder.AddToScheme
)
