package invocation

import (
	"errors"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
)

// This file holds the pure decisions of a finished invocation's history:
// whether it is archived, what an archive attempt's outcome writes, and when
// to try again. archive.go acts on them.

// Waits between attempts to archive.
const (
	// archiveRetryMin and archiveRetryMax bound the wait after a failed
	// Put: it grows with the outage (the time since the Archived condition
	// turned False), so a long outage costs one attempt a minute per
	// invocation and a short one is caught up within seconds.
	archiveRetryMin = 2 * time.Second
	archiveRetryMax = time.Minute
	// archiveRefusedRetry is how long a record the archive refused waits
	// before it is built and tried again (by a newer manager, perhaps).
	archiveRefusedRetry = time.Hour
)

// archived reports whether inv has been written to the archive.
func archived(inv *bkv1.PluginInvocation) bool { return inv.Status.ArchivedTime != nil }

// archiveOutcome is what one archive attempt means for the invocation.
type archiveOutcome struct {
	// status is the status to write, when write is set.
	status bkv1.PluginInvocationStatus
	// write: status differs from what is stored and must be written.
	write bool
	// retryAfter is when to try again; zero once archived.
	retryAfter time.Duration
	// kind names the outcome for metrics and logs: archived, unavailable
	// or refused.
	kind string
}

// Outcome kinds of an archive attempt.
const (
	archiveOK          = "archived"
	archiveUnavailable = "unavailable"
	archiveRefused     = "refused"
)

// applyArchive decides what the outcome putErr of archiving inv at now
// writes. Archived: archivedTime and Archived=True. Refused (the record is
// invalid, which retrying will not mend): Archived=False ArchiveRefused,
// tried again hourly, never deleted. Any other error means the archive is
// down: Archived=False ArchiveUnavailable, written once per outage (not once
// per attempt, which would cost a status write per invocation per retry),
// and tried again after a wait that grows with the outage.
func applyArchive(inv *bkv1.PluginInvocation, putErr error, now time.Time) archiveOutcome {
	st := *inv.Status.DeepCopy()
	if putErr == nil {
		at := metav1.NewTime(now)
		st.ArchivedTime = &at
		apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: bkv1.ConditionArchived, Status: metav1.ConditionTrue, Reason: bkv1.ReasonArchived,
			Message: "written to the history archive", LastTransitionTime: at,
		})
		return archiveOutcome{status: st, write: true, kind: archiveOK}
	}
	reason, kind, msg := bkv1.ReasonArchiveUnavailable, archiveUnavailable, "the history archive cannot be written; the invocation stays in the cluster until it can: "+putErr.Error()
	if errors.Is(putErr, archive.ErrInvalid) {
		reason, kind, msg = bkv1.ReasonArchiveRefused, archiveRefused, "the history archive refused the invocation; it stays in the cluster: "+putErr.Error()
	}
	msg = truncate(msg, 1024)
	prev := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionArchived)
	out := archiveOutcome{status: st, kind: kind}
	if prev == nil || prev.Status != metav1.ConditionFalse || prev.Reason != reason {
		// A new reason starts a new outage: its time is now, which the
		// retry wait counts from.
		out.status.Conditions = setConditionKeepingTime(out.status.Conditions, metav1.Condition{
			Type: bkv1.ConditionArchived, Status: metav1.ConditionFalse, Reason: reason,
			Message: msg, LastTransitionTime: metav1.NewTime(now),
		})
		out.write = true
		prev = nil
	}
	switch {
	case kind == archiveRefused:
		out.retryAfter = archiveRefusedRetry
	case prev == nil:
		out.retryAfter = archiveRetryMin
	default:
		out.retryAfter = min(max(now.Sub(prev.LastTransitionTime.Time), archiveRetryMin), archiveRetryMax)
	}
	return out
}
