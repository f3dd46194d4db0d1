package invocation

import (
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// This file holds the pure decisions of admission (issue 17): whether an
// invocation of a version with limits.maxActiveInvocations may start now or
// waits Queued, which waiting invocations a finished one wakes, and what the
// Queued condition says. The reconciler gathers the version's live
// invocations from the cache (admission_gate.go) and writes what these
// decide; admission_test.go holds their tables.

// queueEntry is a live invocation as admission sees it.
type queueEntry struct {
	name     string
	priority int32
	created  time.Time
	// admitted: it holds one of the version's active slots.
	admitted bool
}

// entryOf is inv as admission sees it.
func entryOf(inv *bkv1.PluginInvocation) queueEntry {
	return queueEntry{name: inv.Name, priority: inv.Spec.Priority, created: inv.CreationTimestamp.Time, admitted: holdsSlot(inv)}
}

// holdsSlot reports whether inv holds one of its version's active slots: it
// was admitted (Queued False), or it has started (an invocation that ran
// before its version had a cap, or whose admission was not written because
// its first execute wrote status first). A finished invocation holds none.
func holdsSlot(inv *bkv1.PluginInvocation) bool {
	if inv.Status.State.Terminal() {
		return false
	}
	if inv.Status.StartTime != nil || inv.Status.InvokeCount > 0 {
		return true
	}
	c := apimeta.FindStatusCondition(inv.Status.Conditions, bkv1.ConditionQueued)
	return c != nil && c.Status == metav1.ConditionFalse
}

// queueBefore orders waiting invocations: higher priority first, then older
// first, then by name, so that the order is total and the same in every
// reconcile and after a restart.
func queueBefore(a, b queueEntry) int {
	if a.priority != b.priority {
		if a.priority > b.priority {
			return -1
		}
		return 1
	}
	if !a.created.Equal(b.created) {
		if a.created.Before(b.created) {
			return -1
		}
		return 1
	}
	return strings.Compare(a.name, b.name)
}

// admissionDecision is decideAdmission's answer.
type admissionDecision struct {
	// admit: the invocation may start now.
	admit bool
	// position is its place among the waiting invocations, 1 = next; 0
	// when admitted.
	position int
	// active counts the invocations holding a slot, waiting those
	// waiting for one (this one included while it waits).
	active, waiting int
}

// decideAdmission decides whether self may start under a cap of maxActive
// started invocations, given the version's live invocations (self may or
// may not be among them). It starts when fewer than maxActive hold a slot
// and fewer than the free slots wait ahead of it: those ahead take the
// first free slots when they are reconciled, so starting self does not take
// one of theirs.
func decideAdmission(maxActive int32, self queueEntry, live []queueEntry) admissionDecision {
	if self.admitted {
		return admissionDecision{admit: true}
	}
	var d admissionDecision
	waiting := []queueEntry{self}
	for _, e := range live {
		switch {
		case e.name == self.name:
		case e.admitted:
			d.active++
		default:
			waiting = append(waiting, e)
		}
	}
	slices.SortFunc(waiting, queueBefore)
	pos := slices.IndexFunc(waiting, func(e queueEntry) bool { return e.name == self.name })
	free := int(maxActive) - d.active
	if pos < free {
		return admissionDecision{admit: true, active: d.active, waiting: len(waiting) - 1}
	}
	d.position, d.waiting = pos+1, len(waiting)
	return d
}

// wakeNext names the waiting invocations to reconcile when one of the
// version's invocations finished: as many of the first in queue order as
// there are free slots (at least one, since the cache may lag behind the
// reconciler's own admissions; a waiting invocation woken too early only
// stays Queued).
func wakeNext(maxActive int32, live []queueEntry) []string {
	var waiting []queueEntry
	active := 0
	for _, e := range live {
		if e.admitted {
			active++
		} else {
			waiting = append(waiting, e)
		}
	}
	n := min(max(int(maxActive)-active, 1), len(waiting))
	if n == 0 {
		return nil
	}
	slices.SortFunc(waiting, queueBefore)
	names := make([]string, n)
	for i := range n {
		names[i] = waiting[i].name
	}
	return names
}

// queuedStatus is the status of inv waiting with decision d for a slot of
// version (the PluginVersion's name plv and its cap maxActive), and whether
// it must be written: when the invocation enters the queue, and then only
// when its position halved or doubled, so that a long queue costs each
// invocation a few writes, not one per admission ahead of it.
func queuedStatus(inv *bkv1.PluginInvocation, traceID, version, plv string, maxActive int32, d admissionDecision, now time.Time) (bkv1.PluginInvocationStatus, bool) {
	st := *inv.Status.DeepCopy()
	prev := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionQueued)
	entering := prev == nil || prev.Status != metav1.ConditionTrue
	recorded := int(st.QueuePosition)
	moved := recorded == 0 || d.position*2 <= recorded || d.position >= recorded*2
	if !entering && !moved {
		return st, false
	}
	st.TraceID = traceID
	if version != "" {
		// The live-invocation index keys on the resolved version, so a
		// constraint resolved while queued must be recorded for the
		// invocation to count in its version's queue.
		st.ResolvedVersion = version
	}
	if st.State == "" {
		st.State = bkv1.StateEmpty
	}
	st.ObservedGeneration = inv.Generation
	st.QueuePosition = int32(min(d.position, 1<<30))
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: bkv1.ConditionQueued, Status: metav1.ConditionTrue, Reason: bkv1.ReasonQueuedAtCap,
		Message: fmt.Sprintf("waiting for a slot of PluginVersion %s: %d of maxActiveInvocations %d are running; position %d of %d waiting",
			plv, d.active, maxActive, d.position, d.waiting),
		LastTransitionTime: metav1.NewTime(now),
	})
	return st, true
}

// admittedCopy returns inv with the Queued condition False (Admitted) and
// no queue position, for an invocation that was Queued and may now start:
// the transition its first execute writes then records that it holds a
// slot. An invocation that never waited is returned as it is, so that
// versions without a cap, or invocations that found a free slot at once,
// carry no Queued condition.
func admittedCopy(inv *bkv1.PluginInvocation, now time.Time) *bkv1.PluginInvocation {
	c := apimeta.FindStatusCondition(inv.Status.Conditions, bkv1.ConditionQueued)
	if c == nil || c.Status != metav1.ConditionTrue {
		return inv
	}
	out := inv.DeepCopy()
	out.Status.QueuePosition = 0
	apimeta.SetStatusCondition(&out.Status.Conditions, metav1.Condition{
		Type: bkv1.ConditionQueued, Status: metav1.ConditionFalse, Reason: bkv1.ReasonAdmitted,
		Message:            fmt.Sprintf("started after waiting %s", now.Sub(c.LastTransitionTime.Time).Round(time.Second)),
		LastTransitionTime: metav1.NewTime(now),
	})
	return out
}

// queuedEvent is the event of an invocation entering the queue; none while
// it only moves up in it (one event per queueing, not per evaluation), and
// emit bounds them per plugin like every invocation event.
func queuedEvent(before, after *bkv1.PluginInvocationStatus) (invocationEvent, bool) {
	was := apimeta.FindStatusCondition(before.Conditions, bkv1.ConditionQueued)
	now := apimeta.FindStatusCondition(after.Conditions, bkv1.ConditionQueued)
	if now == nil || now.Status != metav1.ConditionTrue || (was != nil && was.Status == metav1.ConditionTrue) {
		return invocationEvent{}, false
	}
	return invocationEvent{eventType: corev1.EventTypeNormal, reason: bkv1.ConditionQueued, note: now.Message}, true
}

// queuedRecheck is when a waiting invocation looks at its queue again
// without being woken: a safety net behind the wake-up on each finish (a
// raised cap, a wake-up lost to a restart). Those near the head look
// sooner; far back ones later, so that a long queue does not cost a list
// of the whole queue per invocation every few seconds.
func queuedRecheck(position int) time.Duration {
	return min(5*time.Second+time.Duration(position)*50*time.Millisecond, 2*time.Minute)
}
