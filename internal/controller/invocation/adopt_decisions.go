package invocation

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/history"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

// This file holds the pure decisions of adopting an archived answer
// (adopt.go): a terminal answer is archived before its status is written
// (write, reconciler.go), so a manager killed between the two leaves an
// archived row and a status that still asks for the execute. The next
// process reads the archive before executing such an invocation and, when
// the row is this invocation's end, writes the status from it instead of
// executing the plugin again.

// processStartSkew is how much later than the process start an invocation
// may have been created and still be read from the archive before its
// execute: creation times are the API server's clock (in whole seconds),
// the process start is the manager's.
const processStartSkew = 5 * time.Second

// needsArchiveCheck reports whether the execute of an invocation created
// at created must first look for its answer in the archive: only when this
// process has not written its status (a status this process wrote is newer
// than anything an earlier process left) and it was created before the
// process started, give or take the clocks' skew (one created later was
// never seen by an earlier process).
func needsArchiveCheck(writtenHere bool, created, processStart time.Time) bool {
	if writtenHere || processStart.IsZero() {
		return false
	}
	return created.Before(processStart.Add(processStartSkew))
}

// adoptable reports whether rec, read from the archive under inv's key,
// is inv's own end, written by an earlier process that died before
// recording it in status, and if not, why (for the log). It is when it is
// terminal, of the same plugin, created at the same second as inv (a
// trace id reused after the first invocation was deleted names a
// different invocation) and counts more executes than inv's status.
func adoptable(inv *bkv1.PluginInvocation, rec *archive.Record) (bool, string) {
	switch {
	case !rec.State.Terminal():
		return false, fmt.Sprintf("the archived row is %s, not finished", rec.State)
	case rec.Plugin != inv.Spec.Plugin:
		return false, fmt.Sprintf("the archived row is of plugin %q, not %q", rec.Plugin, inv.Spec.Plugin)
	case rec.CreatedAt.Unix() != inv.CreationTimestamp.Unix():
		return false, fmt.Sprintf("the archived row was created at %s, this invocation at %s: an earlier invocation with the same trace id",
			rec.CreatedAt.UTC().Format(time.RFC3339), inv.CreationTimestamp.UTC().Format(time.RFC3339))
	case rec.InvokeCount <= inv.Status.InvokeCount:
		return false, fmt.Sprintf("the archived row counts %d executes, status already %d", rec.InvokeCount, inv.Status.InvokeCount)
	}
	return true, ""
}

// adoptedStatus is inv's status as rec, its archived end, says it ended,
// with lines (the row's log lines) as its logs: state, outputs (masked in
// the row as in status), error, invoke count, times, resolved version,
// the Succeeded condition the end gave (from the row's timeline) and the
// archive's mark with the row's archivedAt, so that nothing archives it
// again. What the row does not hold (storage, callbacks) stays as it was.
func adoptedStatus(inv *bkv1.PluginInvocation, rec *archive.Record, lines []string) bkv1.PluginInvocationStatus {
	st := *inv.Status.DeepCopy()
	st.State = invocationState(rec.State)
	st.TraceID = rec.TraceID
	if rec.ResolvedVersion != "" {
		st.ResolvedVersion = rec.ResolvedVersion
	}
	st.InvokeCount = rec.InvokeCount
	st.Outputs = nil
	if len(rec.Outputs) > 0 && string(rec.Outputs) != "null" {
		st.Outputs = &apiextensionsv1.JSON{Raw: append(json.RawMessage(nil), rec.Outputs...)}
	}
	st.Error = rec.Error
	if st.StartTime == nil && !rec.StartedAt.IsZero() {
		start := metav1.NewTime(rec.StartedAt)
		st.StartTime = &start
	}
	done := metav1.NewTime(rec.FinishedAt)
	st.CompletionTime = &done
	st.NextPollTime, st.CallbackDeadline, st.NextAttemptTime = nil, nil, nil
	clearRetry(&st)
	if len(rec.Attempts) > 0 {
		var attempts []bkv1.AttemptStatus
		if json.Unmarshal(rec.Attempts, &attempts) == nil {
			st.Attempts = attempts
		}
	}
	st.LogLinesDropped, st.Logs = splitDropped(lines)

	reason, message := endOf(rec)
	succeeded := metav1.ConditionFalse
	if rec.State == protocol.StateSuccess {
		succeeded = metav1.ConditionTrue
	}
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: bkv1.ConditionSucceeded, Status: succeeded, Reason: reason, Message: message, LastTransitionTime: done,
	})
	at := metav1.NewTime(rec.ArchivedAt)
	st.ArchivedTime = &at
	apimeta.SetStatusCondition(&st.Conditions, metav1.Condition{
		Type: bkv1.ConditionArchived, Status: metav1.ConditionTrue, Reason: bkv1.ReasonArchived,
		Message: "written to the history archive", LastTransitionTime: at,
	})
	return st
}

// invocationState maps a terminal state on the wire to the CR's.
func invocationState(s protocol.State) bkv1.InvocationState {
	if s == protocol.StateSuccess {
		return bkv1.StateSuccess
	}
	return bkv1.StateFail
}

// endOf is the reason and message of the Succeeded condition rec's end
// gave, as history.Timeline recorded them in its last entry ("invocation
// SUCCESS: <message>"); the plain reason of its state when the timeline
// does not say.
func endOf(rec *archive.Record) (reason, message string) {
	state := string(invocationState(rec.State))
	reason, message = bkv1.ReasonSucceeded, "the plugin finished successfully"
	if rec.State != protocol.StateSuccess {
		reason, message = bkv1.ReasonPluginFailed, rec.Error
	}
	for i := len(rec.Timeline) - 1; i >= 0; i-- {
		e := rec.Timeline[i]
		if e.State != state || e.Reason == "" {
			continue
		}
		if e.Reason != history.TimelineFinished {
			reason = e.Reason
		}
		if m, ok := strings.CutPrefix(e.Message, "invocation "+state+": "); ok {
			message = m
		}
		break
	}
	if message == "" {
		message = "invocation " + state
	}
	return reason, message
}

// splitDropped takes back from an archived invocation's log lines the
// first line history.Lines adds for lines not kept, so that status holds
// the count and the kept lines as before it was archived.
func splitDropped(lines []string) (int32, []string) {
	if len(lines) == 0 {
		return 0, nil
	}
	var n int32
	if _, err := fmt.Sscanf(lines[0], "… %d earlier log lines", &n); err == nil && n > 0 && lines[0] == history.DroppedLine(n) {
		lines = lines[1:]
	} else {
		n = 0
	}
	if len(lines) == 0 {
		return n, nil
	}
	return n, append([]string(nil), lines...)
}
