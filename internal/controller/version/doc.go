// Package version is the PluginVersion reconciler: it keeps each
// PluginVersion's Ready condition true to what its plugin pod serves.
//
// Reconcile gathers a versionObservation (endpoint, task.json problems, an
// older duplicate, the probe of the pod) and decides with pure functions
// (decisions.go: oldestOlder, conflictResult, versionStatus,
// readinessEvent, nextProbe; probe.go: judgeDetail), then patches status
// once.
package version
