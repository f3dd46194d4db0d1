package shim

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/wirestate"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
	"github.com/bkplugin/bk-plugin-operator/sdk/stdapi"
)

// This file holds the pure mappings from an invocation, live (a
// PluginInvocation) or archived (an archive.Record), to the standard API's
// answers. A caller reads the same answer whichever of the two holds the
// invocation: the tables in answers_test.go give both sides equivalent
// inputs and compare the answers.

// emptyObject is the outputs of an invocation that has none.
var emptyObject = json.RawMessage("{}")

// nonEmptyOutputs returns raw, or {} for an invocation without outputs.
func nonEmptyOutputs(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 || string(raw) == "null" {
		return emptyObject
	}
	return raw
}

func outputsOf(inv *bkv1.PluginInvocation) json.RawMessage {
	if inv.Status.Outputs == nil {
		return emptyObject
	}
	return nonEmptyOutputs(inv.Status.Outputs.Raw)
}

// versionOf is the version an invocation runs: the resolved one, else the
// one the call named (an invocation that never resolved).
func versionOf(inv *bkv1.PluginInvocation) string {
	if inv.Status.ResolvedVersion != "" {
		return inv.Status.ResolvedVersion
	}
	return inv.Spec.Version
}

// recordVersion is versionOf for an archived invocation.
func recordVersion(rec *archive.Record) string {
	if rec.ResolvedVersion != "" {
		return rec.ResolvedVersion
	}
	return rec.RequestedVersion
}

// finishOf is when a live invocation finished; zero while it runs.
func finishOf(inv *bkv1.PluginInvocation) time.Time {
	if inv.Status.CompletionTime != nil && inv.Status.State.Terminal() {
		return inv.Status.CompletionTime.Time
	}
	return time.Time{}
}

// invokeData is the invoke answer of inv: the Python framework's, which
// never answers EMPTY (wirestate.Answer) and answers null outputs on FAIL.
func invokeData(inv *bkv1.PluginInvocation) stdapi.InvokeData {
	d := stdapi.InvokeData{Outputs: outputsOf(inv), State: wirestate.Answer(inv.Status.State), Err: inv.Status.Error}
	if inv.Status.State == bkv1.StateFail {
		d.Outputs = json.RawMessage("null")
	}
	return d
}

// invokeFromRecord is invokeData of an archived invocation: what a retried
// invoke of a finished call answers.
func invokeFromRecord(rec *archive.Record) stdapi.InvokeData {
	d := stdapi.InvokeData{Outputs: nonEmptyOutputs(rec.Outputs), State: rec.State, Err: rec.Error}
	if rec.State == protocol.StateFail {
		d.Outputs = json.RawMessage("null")
	}
	return d
}

func scheduleData(inv *bkv1.PluginInvocation) stdapi.ScheduleData {
	return stdapi.ScheduleData{
		TraceID:       inv.Name,
		PluginVersion: versionOf(inv),
		State:         wirestate.Answer(inv.Status.State),
		Outputs:       outputsOf(inv),
		Err:           inv.Status.Error,
		CreatedAt:     stdapi.NewTimestamp(inv.CreationTimestamp.Time),
		FinishAt:      stdapi.NewTimestamp(finishOf(inv)),
		Attempt:       attemptOf(inv),
	}
}

// scheduleFromRecord is scheduleData of an archived invocation.
func scheduleFromRecord(rec *archive.Record) stdapi.ScheduleData {
	return stdapi.ScheduleData{
		TraceID:       rec.TraceID,
		PluginVersion: recordVersion(rec),
		State:         rec.State,
		Outputs:       nonEmptyOutputs(rec.Outputs),
		Err:           rec.Error,
		CreatedAt:     stdapi.NewTimestamp(rec.CreatedAt),
		FinishAt:      stdapi.NewTimestamp(rec.FinishedAt),
		Attempt:       recordAttempt(rec),
	}
}

// summaryOf is a live invocation as the history list shows it.
func summaryOf(inv *bkv1.PluginInvocation) stdapi.InvocationSummary {
	d := scheduleData(inv)
	return stdapi.InvocationSummary{TraceID: d.TraceID, PluginVersion: d.PluginVersion, State: d.State, Err: d.Err, CreatedAt: d.CreatedAt, FinishAt: d.FinishAt}
}

// summaryFromRecord is an archived invocation as the history list shows it.
func summaryFromRecord(rec *archive.Record) stdapi.InvocationSummary {
	d := scheduleFromRecord(rec)
	return stdapi.InvocationSummary{TraceID: d.TraceID, PluginVersion: d.PluginVersion, State: d.State, Err: d.Err, CreatedAt: d.CreatedAt, FinishAt: d.FinishAt}
}

// timelineLine is one timeline entry as a line of the logs answer:
// "YYYY-MM-DD HH:MM:SS Reason: message", with the state when the entry
// names one ("... [POLL] Reason: message").
func timelineLine(e archive.TimelineEntry) string {
	var b strings.Builder
	b.WriteString(stdapi.NewTimestamp(e.Time).String())
	if e.State != "" {
		fmt.Fprintf(&b, " [%s]", e.State)
	}
	fmt.Fprintf(&b, " %s: %s", e.Reason, oneLine(e.Message))
	return b.String()
}

// oneLine keeps a message on its line: the logs answer is split on "\n".
func oneLine(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "\r", " "), "\n", " ")
}

// logLines is the whole log of an invocation, live or archived: its
// timeline first, then the plugin's own lines.
func logLines(timeline []archive.TimelineEntry, plugin []string) []string {
	lines := make([]string, 0, len(timeline)+len(plugin))
	for _, e := range timeline {
		lines = append(lines, timelineLine(e))
	}
	for _, l := range plugin {
		lines = append(lines, oneLine(l))
	}
	return lines
}

// logPage is what the logs answer shows of an invocation's lines.
type logPage struct {
	// Offset and Limit select the lines; Limit 0 means all from Offset.
	Offset, Limit int
	// Paged is set when the caller asked for a page: the answer then says
	// where it starts and how many lines there are.
	Paged bool
}

// logsData renders one page of lines (the whole log numbered from 0, total
// lines long, lines being the part from page.Offset on).
func logsData(page logPage, lines []string, total int) stdapi.LogsData {
	var b strings.Builder
	for _, l := range lines {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	d := stdapi.LogsData{Log: b.String()}
	if page.Paged {
		d.Offset, d.Total = page.Offset, &total
	}
	return d
}

// pageOf cuts page out of all.
func pageOf(page logPage, all []string) []string {
	if page.Offset >= len(all) {
		return nil
	}
	all = all[page.Offset:]
	if page.Limit > 0 && page.Limit < len(all) {
		all = all[:page.Limit]
	}
	return all
}
