package v1alpha1

// This file holds the condition types of both kinds and the reasons their
// conditions carry: the manager writes them, the shim and kubectl users read
// them, so they live with the API and not with either binary.

// Condition types.
const (
	// ConditionReady is True on a PluginVersion whose plugin pod serves it
	// with the schemas of its spec.
	ConditionReady = "Ready"
	// ConditionSucceeded is True once an invocation ends SUCCESS and False
	// once it ends FAIL; its reason says why it failed.
	ConditionSucceeded = "Succeeded"
	// ConditionNotified reports whether the finish notification was sent.
	ConditionNotified = "Notified"
	// ConditionRetrying is True while calls to the plugin pod (or to the
	// finish-notification URL) fail and are being retried.
	ConditionRetrying = "Retrying"
	// ConditionArchived is True once a finished invocation is written to the
	// history archive, and False while the archive cannot be written.
	ConditionArchived = "Archived"
)

// Reasons of a PluginInvocation's Succeeded, Notified and Retrying
// conditions; the invocation reconciler also uses them as event reasons.
const (
	// ReasonSucceeded (Succeeded True): the plugin answered SUCCESS.
	ReasonSucceeded = "Succeeded"
	// ReasonPluginFailed: the plugin answered FAIL.
	ReasonPluginFailed = "PluginFailed"
	// ReasonCancelled: spec.cancel was set before the invocation finished.
	ReasonCancelled = "Cancelled"
	// ReasonDeadline: spec.activeDeadlineSeconds passed before the invocation finished.
	ReasonDeadline = "DeadlineExceeded"
	// ReasonCallbackTimeout: no callback arrived before the plugin's timeout.
	ReasonCallbackTimeout = "CallbackTimeout"
	// ReasonInvalidInputs: the inputs or context break the version's schemas.
	ReasonInvalidInputs = "InvalidInputs"
	// ReasonInvalidVersion: the resolved version cannot be used (bad schema,
	// task.json description or endpoint).
	ReasonInvalidVersion = "InvalidVersion"
	// ReasonNoVersion: no PluginVersion matches the requested version.
	ReasonNoVersion = "NoMatchingVersion"
	// ReasonUnreachable: the plugin pod could not be reached: calls failed
	// past the retry budget, or its endpoint resolves to no URL.
	ReasonUnreachable = "PluginUnreachable"
	// ReasonProtocolError: the plugin answered something the protocol forbids.
	ReasonProtocolError = "ProtocolError"
	// ReasonStorageTooLarge: outputs and storage exceed the status limit.
	ReasonStorageTooLarge = "StorageTooLarge"
	// ReasonForeignSecret: the Secret named like the invocation's
	// sensitive Secret was not made for it (it lacks the
	// bkplugin.io/invocation label, or another invocation owns it); the
	// manager neither reads nor adopts it.
	ReasonForeignSecret = "ForeignSecret"
	// ReasonStatusRefused: the API server refused to store the status the
	// plugin's answer led to (invalid); the invocation ends FAIL rather
	// than stay where it is.
	ReasonStatusRefused = "StatusRefused"
	// ReasonVersionDeleted: the resolved PluginVersion was deleted.
	ReasonVersionDeleted = "VersionDeleted"
	// ReasonRunning (Succeeded Unknown): the invocation is still running.
	ReasonRunning = "Running"
	// ReasonRetrying (Retrying True, or Notified False while the finish
	// notification is retried): a call failed and is retried.
	ReasonRetrying = "CallFailed"
	// ReasonRetryScheduled (Succeeded Unknown): an attempt failed and its
	// retry policy (retry_types.go) runs another at status.nextAttemptTime.
	ReasonRetryScheduled = "RetryScheduled"
	// ReasonNotificationSent (Notified True): the finish notification was sent.
	ReasonNotificationSent = "Sent"
	// ReasonNotifyFailed (Notified False): the finish notification failed.
	ReasonNotifyFailed = "NotificationFailed"
	// ReasonArchived (Archived True): the invocation is in the history
	// archive; the CR is deleted after --keep-finished.
	ReasonArchived = "Archived"
	// ReasonArchiveUnavailable (Archived False): the archive could not be
	// written (down, unreachable); the invocation stays in the cluster and
	// is archived when it answers again.
	ReasonArchiveUnavailable = "ArchiveUnavailable"
	// ReasonArchiveRefused (Archived False): the archive refused the record
	// as invalid; retrying will not help, so the invocation stays in the
	// cluster until its ttlSecondsAfterFinished for someone to look at.
	ReasonArchiveRefused = "ArchiveRefused"
)

// Reasons of a PluginVersion's Ready condition.
const (
	// VersionReasonServing (Ready True): the plugin pod serves the version
	// with the spec's schemas.
	VersionReasonServing = "Serving"
	// VersionReasonUnreachable: the plugin pod could not be reached, or
	// answered an error status other than 404 or a body that is not the
	// standard envelope.
	VersionReasonUnreachable = "Unreachable"
	// VersionReasonNotServed: the plugin pod answers but does not serve this
	// version (404 or result false).
	VersionReasonNotServed = "VersionNotServed"
	// VersionReasonSchemaMismatch: the pod serves the version with inputs,
	// context inputs or outputs schemas other than the spec's.
	VersionReasonSchemaMismatch = "SchemaMismatch"
	// VersionReasonConflict: an older PluginVersion in the namespace
	// registers the same plugin and version; that one is used.
	VersionReasonConflict = "Conflict"
	// VersionReasonInvalidEndpoint: the endpoint resolves to no usable URL.
	// The CRD's validation keeps it rare.
	VersionReasonInvalidEndpoint = "InvalidEndpoint"
	// VersionReasonInvalidDescription: the task.json description breaks a
	// rule the CRD cannot check (a rely expression with both value and
	// regex, a rely on an unknown field or a cycle).
	VersionReasonInvalidDescription = "InvalidDescription"
)

// Condition types of a PluginServer, and the Retiring condition both
// PluginServers and PluginVersions carry while their deletion waits.
const (
	// ConditionAvailable is True on a PluginServer while at least one of its
	// plugin pods is available; the versions naming it are Ready only then.
	ConditionAvailable = "Available"
	// ConditionProgressing is True while the server's Deployment rolls out
	// a spec and once the rollout completed; False when it stalled.
	ConditionProgressing = "Progressing"
	// ConditionRetiring is True on a PluginServer or PluginVersion being
	// deleted while live invocations still use it; its message says how
	// many and until when deletion waits.
	ConditionRetiring = "Retiring"
)

// Reasons of a PluginServer's conditions.
const (
	// ServerReasonAvailable (Available True): plugin pods are available.
	ServerReasonAvailable = "MinimumReplicasAvailable"
	// ServerReasonUnavailable (Available False): no plugin pod is available.
	ServerReasonUnavailable = "NoReplicasAvailable"
	// ServerReasonScaledToZero (Available False): replicas is 0.
	ServerReasonScaledToZero = "ScaledToZero"
	// ServerReasonObjectConflict (Available False): a Deployment, Service or
	// HorizontalPodAutoscaler of the server's name exists and belongs to
	// something else; the operator never adopts it.
	ServerReasonObjectConflict = "ObjectConflict"
	// ServerReasonRollingOut (Progressing True): pods of an older spec remain.
	ServerReasonRollingOut = "RollingOut"
	// ServerReasonRolloutComplete (Progressing True): every pod runs the spec.
	ServerReasonRolloutComplete = "RolloutComplete"
	// ServerReasonRolloutStalled (Progressing False): the Deployment exceeded
	// its progress deadline.
	ServerReasonRolloutStalled = "ProgressDeadlineExceeded"
)

// Reasons of the Retiring condition.
const (
	// RetireReasonInUse (Retiring True): live invocations use the object;
	// deletion waits for them or for the grace period.
	RetireReasonInUse = "InUse"
	// RetireReasonGracePeriodOver (Retiring False): the grace period passed
	// with invocations still live; deletion goes ahead.
	RetireReasonGracePeriodOver = "GracePeriodOver"
	// RetireReasonUnused (Retiring False): no live invocation uses the
	// object; deletion goes ahead.
	RetireReasonUnused = "Unused"
)

// VersionReasonServerUnavailable is the reason of a PluginVersion's Ready
// condition when the PluginServer it names is missing or not Available.
const VersionReasonServerUnavailable = "ServerUnavailable"

// EventReasonRetrying is the reason of the Warning event an invocation gets
// each time a failed attempt is retried under its retry policy; the note
// says what failed and when the next attempt starts.
const EventReasonRetrying = "Retrying"

// Condition types of a PluginVersion besides Ready (docs/versioning.md).
const (
	// ConditionCompatible is False on a PluginVersion that breaks the
	// callers of the previous version of its major (sdk/compat); a range
	// such as "^1.2" never resolves to it. Where the admission webhook runs,
	// such a version is refused instead and the condition stays True.
	ConditionCompatible = "Compatible"
	// ConditionCanary is present on a PluginVersion with spec.canary: True
	// while it takes its weight of the invocations its ranges resolve, False
	// once the manager rolled it back.
	ConditionCanary = "Canary"
)

// Reasons of a PluginVersion's Compatible condition.
const (
	// VersionReasonCompatible (Compatible True): the version breaks no
	// caller of the previous version of its major, or has none.
	VersionReasonCompatible = "Compatible"
	// VersionReasonBreaking (Compatible False): the message lists the
	// breaking changes against the previous version (field path: rule).
	VersionReasonBreaking = "BreaksPreviousVersion"
	// VersionReasonUncomparable (Compatible False): a schema of this or the
	// previous version is not JSON, so nothing can be promised.
	VersionReasonUncomparable = "Uncomparable"
)

// Reasons of a PluginVersion's Canary condition, also status.canary.state.
const (
	// CanaryStateActive (Canary True): ranges resolve to the version for its
	// weight of the invocations.
	CanaryStateActive = "Active"
	// CanaryStateRolledBack (Canary False): its FAIL rate over the window
	// passed the threshold; ranges resolve to the previous version until
	// spec.canary changes.
	CanaryStateRolledBack = "RolledBack"
)
