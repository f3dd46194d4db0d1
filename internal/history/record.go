package history

import (
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/sensitive"
	"github.com/bkplugin/bk-plugin-operator/internal/wirestate"
)

// ErrNotFinished is returned by Record for an invocation that has not
// ended: the archive holds finished invocations only.
var ErrNotFinished = errors.New("invocation has not finished")

// Masking names the values a version's task.json marks isSensitive, which a
// record shows as the mask ("******"), never in clear.
type Masking struct {
	// Inputs are the sensitive input fields of the version. spec.inputs
	// should hold none (the shim keeps them in the invocation's Secret),
	// but one given in clear by hand is masked too.
	Inputs []string
	// SecretInputs are the fields the invocation's Secret holds; the
	// record's inputs show them masked, so that a reader sees the call
	// carried them.
	SecretInputs []string
	// Outputs are the sensitive output fields; status already shows them
	// masked, and they are masked again here so that no path can leak one.
	Outputs []string
}

// Timeline reasons of the steps a record's timeline holds besides the
// conditions' own reasons.
const (
	// TimelineCreated: the call was made.
	TimelineCreated = "Created"
	// TimelineStarted: the first execute began.
	TimelineStarted = "Started"
	// TimelineFinished: the invocation ended (its Succeeded reason follows).
	TimelineFinished = "Finished"
)

// Record builds the archive record of a finished invocation: what its
// status shows (outputs and error as masked and scrubbed there), its spec's
// inputs and context with sensitive fields masked by m, its caller, times,
// life-cycle timeline (from its times and conditions) and plugin log lines.
// The invocation's storage and Secret are never part of it. An invocation
// that has not ended fails with ErrNotFinished; inputs or context that are
// not JSON objects fail with an error saying which.
func Record(inv *bkv1.PluginInvocation, m Masking) (archive.Record, error) {
	st := &inv.Status
	if !st.State.Terminal() {
		return archive.Record{}, fmt.Errorf("%w: %s/%s is %s", ErrNotFinished, inv.Namespace, inv.Name, stateName(st.State))
	}
	finished := finishTime(inv)
	if finished.IsZero() {
		return archive.Record{}, fmt.Errorf("%w: %s/%s is %s but has no completion time", ErrNotFinished, inv.Namespace, inv.Name, st.State)
	}
	inputs, err := sensitive.Mask(raw(inv.Spec.Inputs), m.Inputs, m.SecretInputs)
	if err != nil {
		return archive.Record{}, fmt.Errorf("invocation %s/%s: spec.inputs: %w", inv.Namespace, inv.Name, err)
	}
	outputs, err := sensitive.Mask(raw(st.Outputs), m.Outputs, nil)
	if err != nil {
		return archive.Record{}, fmt.Errorf("invocation %s/%s: status.outputs must be a JSON object: %w", inv.Namespace, inv.Name, err)
	}
	rec := archive.Record{
		Key:              archive.Key{Namespace: inv.Namespace, TraceID: TraceID(inv)},
		Plugin:           inv.Spec.Plugin,
		RequestedVersion: inv.Spec.Version,
		ResolvedVersion:  st.ResolvedVersion,
		State:            wirestate.Of(st.State),
		Inputs:           inputs,
		Context:          raw(inv.Spec.Context),
		Outputs:          outputs,
		Error:            cleanText(st.Error),
		InvokeCount:      st.InvokeCount,
		CreatedAt:        inv.CreationTimestamp.Time,
		StartedAt:        timeOf(st.StartTime),
		FinishedAt:       finished,
		Timeline:         Timeline(inv),
		Logs:             Lines(st),
	}
	if c := inv.Spec.Caller; c != nil {
		rec.Caller = archive.Caller{AppCode: c.AppCode, Username: c.Username}
	}
	// The attempts of an invocation that ran under a retry policy, as
	// status.attempts holds them (bounded, errors scrubbed there).
	if len(st.Attempts) > 0 {
		attempts, err := json.Marshal(st.Attempts)
		if err != nil {
			return archive.Record{}, fmt.Errorf("invocation %s/%s: status.attempts: %w", inv.Namespace, inv.Name, err)
		}
		rec.Attempts = attempts
	}
	return rec, nil
}

// TraceID is the trace id inv is archived under: status.traceID, which the
// manager sets and the standard API answers, else its name (the shim names
// each invocation after its trace id, so the two are the same).
func TraceID(inv *bkv1.PluginInvocation) string {
	if inv.Status.TraceID != "" {
		return inv.Status.TraceID
	}
	return inv.Name
}

// Lines returns the log lines a record of st holds: a first line saying
// how many earlier lines were dropped, if any, then the kept lines, cleaned
// for the archive (a line it would refuse is never stored as it is).
func Lines(st *bkv1.PluginInvocationStatus) []string {
	var lines []string
	if st.LogLinesDropped > 0 {
		lines = append(lines, DroppedLine(st.LogLinesDropped))
	}
	for _, l := range st.Logs {
		lines = append(lines, cleanText(l))
	}
	return lines
}

// DroppedLine is the line that stands for n earlier lines not kept.
func DroppedLine(n int32) string {
	return fmt.Sprintf("… %d earlier log lines were not kept (an invocation keeps at most its last %d lines, %d KiB)",
		n, DefaultMaxLogLines, DefaultMaxLogBytes>>10)
}

// cleanText makes s fit a text column of either archive backend: valid
// UTF-8 and no NUL byte, which status (JSON) may hold.
func cleanText(s string) string {
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
}

// Timeline is inv's life cycle, oldest first: its creation, its first
// execute, each condition's last transition, and its end.
func Timeline(inv *bkv1.PluginInvocation) []archive.TimelineEntry {
	st := &inv.Status
	tl := []archive.TimelineEntry{{
		Time: inv.CreationTimestamp.Time, State: string(bkv1.StateEmpty), Reason: TimelineCreated,
		Message: createdMessage(inv),
	}}
	if st.StartTime != nil {
		tl = append(tl, archive.TimelineEntry{Time: st.StartTime.Time, Reason: TimelineStarted,
			Message: "first execute of version " + orDash(st.ResolvedVersion)})
	}
	for _, c := range st.Conditions {
		if c.Type == bkv1.ConditionSucceeded && c.Status != metav1.ConditionUnknown {
			continue // the end entry below says it, with the state
		}
		if c.Type == bkv1.ConditionArchived {
			continue // the archive's own archived_at says it
		}
		tl = append(tl, archive.TimelineEntry{Time: c.LastTransitionTime.Time, Reason: c.Reason,
			Message: cleanText(fmt.Sprintf("%s=%s: %s", c.Type, c.Status, c.Message))})
	}
	if st.State.Terminal() {
		if end := finishTime(inv); !end.IsZero() {
			reason, msg := TimelineFinished, "invocation "+string(st.State)
			if c := meta(st.Conditions, bkv1.ConditionSucceeded); c != nil && c.Status != metav1.ConditionUnknown {
				reason = c.Reason
				if c.Message != "" {
					msg += ": " + cleanText(c.Message)
				}
			}
			tl = append(tl, archive.TimelineEntry{Time: end, State: string(st.State), Reason: reason, Message: msg})
		}
	}
	// Conditions are kept in type order; the timeline is in time order,
	// creation first on ties.
	sort.SliceStable(tl, func(i, j int) bool { return tl[i].Time.Before(tl[j].Time) })
	return tl
}

func createdMessage(inv *bkv1.PluginInvocation) string {
	msg := "invoke of " + inv.Spec.Plugin + " " + inv.Spec.Version
	if c := inv.Spec.Caller; c != nil && (c.AppCode != "" || c.Username != "") {
		msg += " by app " + orDash(c.AppCode) + " for user " + orDash(c.Username)
	}
	return msg
}

// finishTime is when inv ended: status.completionTime, else the Succeeded
// condition's last transition (an invocation ended by an older manager).
func finishTime(inv *bkv1.PluginInvocation) time.Time {
	if t := inv.Status.CompletionTime; t != nil && !t.IsZero() {
		return t.Time
	}
	if c := meta(inv.Status.Conditions, bkv1.ConditionSucceeded); c != nil && c.Status != metav1.ConditionUnknown {
		return c.LastTransitionTime.Time
	}
	return time.Time{}
}

func meta(cs []metav1.Condition, t string) *metav1.Condition {
	for i := range cs {
		if cs[i].Type == t {
			return &cs[i]
		}
	}
	return nil
}

func raw(j *apiextensionsv1.JSON) json.RawMessage {
	if j == nil || len(j.Raw) == 0 {
		return nil
	}
	return json.RawMessage(j.Raw)
}

func timeOf(t *metav1.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.Time
}

func stateName(s bkv1.InvocationState) string {
	if s == "" {
		return "not started"
	}
	return string(s)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
