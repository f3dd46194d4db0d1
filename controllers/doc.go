// Package controllers holds the manager's reconcilers: one for
// PluginVersions and one for PluginInvocations.
package controllers

// The manager reads and writes the two kinds, their status, emits events
// about them and keeps the leader-election lease.
//
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginversions;plugininvocations,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=bkplugin.io,resources=pluginversions/status;plugininvocations/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=core,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch
