// Package chart tests the Helm chart in charts/bk-plugin-operator with
// Helm's own Go library: it lints the chart, renders it with several value
// sets (defaults, everything on, bring-your-own Secrets) and checks what
// each renders (namespaced RBAC with no cluster-wide Secret access, images
// from one registry and tag, PDB and anti-affinity for the shim, the
// NetworkPolicies' selectors), keeps the chart's copies of config/ in sync,
// and server-side dry-runs every rendered object against a real
// kube-apiserver (envtest). It has no non-test code.
package chart
