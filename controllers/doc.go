// Package controllers holds the manager's reconcilers: one for
// PluginVersions and one for PluginInvocations.
package controllers

// The manager keeps a leader-election lease so that only one replica
// reconciles; each reconciler declares the rest of its RBAC above Reconcile.
//
// +kubebuilder:rbac:groups=coordination.k8s.io,resources=leases,verbs=get;create;update
