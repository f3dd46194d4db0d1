package v1alpha1

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
