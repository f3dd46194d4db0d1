package shim

import (
	"fmt"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// Values of Options.SyncInvoke (--sync-invoke).
const (
	// SyncInvokeDirect makes the first execute of a synchronous invoke in
	// the shim: a call that finishes at once is archived and answered with
	// no PluginInvocation; one that answers POLL or CALLBACK becomes a
	// PluginInvocation already carrying that answer (docs/api.md).
	SyncInvokeDirect = "direct"
	// SyncInvokeCluster makes every invoke a PluginInvocation that the
	// manager executes, as before the direct path existed.
	SyncInvokeCluster = "cluster"
)

// ParseSyncInvoke checks a --sync-invoke value; "" is SyncInvokeDirect.
func ParseSyncInvoke(v string) (string, error) {
	switch v {
	case "", SyncInvokeDirect:
		return SyncInvokeDirect, nil
	case SyncInvokeCluster:
		return SyncInvokeCluster, nil
	}
	return "", fmt.Errorf("--sync-invoke=%q: want %q or %q", v, SyncInvokeDirect, SyncInvokeCluster)
}

// directChoice is what needsCluster looks at: the call, the version it
// resolved to, and how the shim is set up.
type directChoice struct {
	// Mode is Options.SyncInvoke.
	Mode string
	// Async is an invoke that answers before any execute.
	Async bool
	// Notification is the call's finish notification, if any.
	Notification *bkv1.FinishNotification
	// Deadline is set when the call bounds its run (the invoke's timeout).
	Deadline bool
	// Retry is set when the call may run more than one attempt (mayRetry):
	// the manager alone retries.
	Retry bool
	// Archive is set when the shim has an archive to write a finished
	// call to.
	Archive bool
	// Version is the version the call resolved to.
	Version *bkv1.PluginVersion
}

// limited reports whether plv caps its invocations or its executes
// (spec.limits): the manager alone counts what runs, so the shim must not
// call such a version behind its back.
func limited(plv *bkv1.PluginVersion) bool {
	l := plv.Spec.Limits
	return l != nil && (l.MaxActiveInvocations != nil || l.MaxExecutesInFlight != nil || l.ExecutesPerSecond != nil)
}

// needsCluster decides whether an invoke must go through the cluster from
// the start (a PluginInvocation the manager executes) rather than have its
// first execute made by the shim, and says why. Everything the manager
// does around an execute that the shim does not is a reason: an async
// call (nothing waits for the execute), a finish notification, a deadline
// (the manager ends the invocation when it passes, and cancels), and no
// archive to put a finished call in, a call that may be retried (a retry
// policy), and a version with concurrency caps or rate limits: the manager
// alone counts what runs. A new reason is one more case here.
func needsCluster(c directChoice) (bool, string) {
	switch {
	case c.Mode != SyncInvokeDirect:
		return true, "mode"
	case c.Async:
		return true, "async"
	case c.Notification != nil:
		return true, "notification"
	case c.Deadline:
		return true, "deadline"
	case c.Retry:
		return true, "retry"
	case c.Version != nil && limited(c.Version):
		return true, "limits"
	case !c.Archive:
		return true, "no_archive"
	}
	return false, ""
}
