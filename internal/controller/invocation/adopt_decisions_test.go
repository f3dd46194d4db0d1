package invocation

import (
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/history"
	"github.com/bkplugin/bk-plugin-operator/internal/pluginexec"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

func TestNeedsArchiveCheck(t *testing.T) {
	start := t0.Add(time.Hour)
	cases := []struct {
		name        string
		writtenHere bool
		created     time.Time
		start       time.Time
		want        bool
	}{
		{"created long before the process started: an earlier process may have archived it", false, t0, start, true},
		{"created a second before the start", false, start.Add(-time.Second), start, true},
		{"created within the clocks' skew after the start", false, start.Add(processStartSkew - time.Second), start, true},
		{"created after the start and the skew: no earlier process saw it", false, start.Add(processStartSkew), start, false},
		{"created long after the start", false, start.Add(time.Hour), start, false},
		{"this process wrote its status: nothing older can be newer", true, t0, start, false},
		{"no process start known", false, t0, time.Time{}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := needsArchiveCheck(c.writtenHere, c.created, c.start); got != c.want {
				t.Fatalf("needsArchiveCheck = %v, want %v", got, c.want)
			}
		})
	}
}

func TestAdoptable(t *testing.T) {
	row := func(mutate ...func(*archive.Record)) *archive.Record {
		r := &archive.Record{Key: archive.Key{Namespace: "ns", TraceID: "0123456789abcdef0123456789abcdef"}, Plugin: "p",
			State: protocol.StateSuccess, InvokeCount: 1, CreatedAt: t0.Add(300 * time.Millisecond), FinishedAt: t0.Add(time.Second)}
		for _, m := range mutate {
			m(r)
		}
		return r
	}
	polled := func(i *bkv1.PluginInvocation) { i.Status.InvokeCount = 2 }
	cases := []struct {
		name    string
		inv     *bkv1.PluginInvocation
		rec     *archive.Record
		want    bool
		wantWhy string
	}{
		{"its end, archived after its first execute", invocation(""), row(), true, ""},
		{"its end after polls", invocation(bkv1.StatePoll, polled), row(func(r *archive.Record) { r.InvokeCount = 3 }), true, ""},
		{"a FAIL end", invocation(bkv1.StatePoll, polled), row(func(r *archive.Record) { r.State, r.InvokeCount = protocol.StateFail, 3 }), true, ""},
		{"created in the same second, the row keeping sub-second precision", invocation(""),
			row(func(r *archive.Record) { r.CreatedAt = t0.Add(999 * time.Millisecond) }), true, ""},
		{"an earlier invocation with the same trace id", invocation(""),
			row(func(r *archive.Record) { r.CreatedAt = t0.Add(-time.Hour) }), false, "an earlier invocation with the same trace id"},
		{"created a second apart", invocation(""),
			row(func(r *archive.Record) { r.CreatedAt = t0.Add(time.Second) }), false, "an earlier invocation"},
		{"another plugin", invocation(""), row(func(r *archive.Record) { r.Plugin = "q" }), false, `plugin "q"`},
		{"no more executes than status counts", invocation(bkv1.StatePoll, polled),
			row(func(r *archive.Record) { r.InvokeCount = 2 }), false, "counts 2 executes, status already 2"},
		{"not finished", invocation(""), row(func(r *archive.Record) { r.State = protocol.StatePoll }), false, "not finished"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, why := adoptable(c.inv, c.rec)
			if got != c.want || !strings.Contains(why, c.wantWhy) {
				t.Fatalf("adoptable = %v %q, want %v containing %q", got, why, c.want, c.wantWhy)
			}
		})
	}
}

// TestAdoptedStatus archives an ended invocation as the manager does
// (history.Record) and checks that adopting the row over the status it had
// before its end gives back the end: what write would have stored, with
// the archive's mark.
func TestAdoptedStatus(t *testing.T) {
	ended := func(end func(bkv1.PluginInvocationStatus) bkv1.PluginInvocationStatus, mutate ...func(*bkv1.PluginInvocationStatus)) (before, after *bkv1.PluginInvocation) {
		before = invocation(bkv1.StatePoll, func(i *bkv1.PluginInvocation) {
			i.Namespace = "ns"
			i.Status.InvokeCount, i.Status.ResolvedVersion, i.Status.TraceID = 1, "1.0.0", i.Name
			i.Status.StartTime, i.Status.NextPollTime = at(time.Second), at(time.Minute)
			i.Status.Storage = js(`{"step":1}`)
			i.Status.Logs = []string{"first"}
			i.Status = pluginexec.Running(i.Status, "waiting to be polled", at(time.Second).Time)
		})
		after = before.DeepCopy()
		st := after.Status
		st.InvokeCount = 2
		st.NextPollTime = nil
		for _, m := range mutate {
			m(&st)
		}
		after.Status = end(st)
		return before, after
	}
	success := func(st bkv1.PluginInvocationStatus) bkv1.PluginInvocationStatus {
		st.Outputs = js(`{"answer":42,"secret":"******"}`)
		return pluginexec.Succeeded(st, t0.Add(time.Minute+time.Second))
	}
	protocolError := func(st bkv1.PluginInvocationStatus) bkv1.PluginInvocationStatus {
		return failed(st, bkv1.ReasonProtocolError, "plugin answered outputs that are not a JSON object", t0.Add(2*time.Minute))
	}
	pluginFailed := func(st bkv1.PluginInvocationStatus) bkv1.PluginInvocationStatus {
		return failed(st, bkv1.ReasonPluginFailed, "no such user", t0.Add(2*time.Minute))
	}
	cases := []struct {
		name   string
		end    func(bkv1.PluginInvocationStatus) bkv1.PluginInvocationStatus
		mutate []func(*bkv1.PluginInvocationStatus)
	}{
		{"SUCCESS with masked outputs and logs", success, []func(*bkv1.PluginInvocationStatus){func(st *bkv1.PluginInvocationStatus) {
			st.Logs = append(st.Logs, "second")
		}}},
		{"FAIL by the plugin", pluginFailed, nil},
		{"FAIL for a protocol error", protocolError, nil},
		{"SUCCESS after dropped log lines", success, []func(*bkv1.PluginInvocationStatus){func(st *bkv1.PluginInvocationStatus) {
			st.LogLinesDropped, st.Logs = 7, []string{"kept 1", "kept 2"}
		}}},
		{"SUCCESS without log lines", success, []func(*bkv1.PluginInvocationStatus){func(st *bkv1.PluginInvocationStatus) { st.Logs = nil }}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			before, after := ended(c.end, c.mutate...)
			rec, err := history.Record(after, history.Masking{})
			if err != nil {
				t.Fatal(err)
			}
			rec.ArchivedAt = t0.Add(3 * time.Minute)
			got := adoptedStatus(before, &rec, rec.Logs)

			want := after.Status
			if got.State != want.State || got.InvokeCount != want.InvokeCount || got.Error != want.Error ||
				got.ResolvedVersion != want.ResolvedVersion || got.TraceID != want.TraceID {
				t.Fatalf("adopted %s count %d error %q version %q trace %q; want %s %d %q %q %q", got.State, got.InvokeCount, got.Error,
					got.ResolvedVersion, got.TraceID, want.State, want.InvokeCount, want.Error, want.ResolvedVersion, want.TraceID)
			}
			if string(raw(got.Outputs)) != string(raw(want.Outputs)) {
				t.Errorf("outputs %s, want %s", raw(got.Outputs), raw(want.Outputs))
			}
			if !got.CompletionTime.Equal(want.CompletionTime) || !got.StartTime.Equal(want.StartTime) {
				t.Errorf("times start %v completion %v, want %v %v", got.StartTime, got.CompletionTime, want.StartTime, want.CompletionTime)
			}
			if got.NextPollTime != nil || got.CallbackDeadline != nil {
				t.Errorf("still waiting: next poll %v, callback deadline %v", got.NextPollTime, got.CallbackDeadline)
			}
			if got.LogLinesDropped != want.LogLinesDropped || strings.Join(got.Logs, "\n") != strings.Join(want.Logs, "\n") {
				t.Errorf("logs %d dropped %q, want %d %q", got.LogLinesDropped, got.Logs, want.LogLinesDropped, want.Logs)
			}
			if string(raw(got.Storage)) != `{"step":1}` {
				t.Errorf("storage %s, want it kept", raw(got.Storage))
			}
			gc, wc := apimeta.FindStatusCondition(got.Conditions, bkv1.ConditionSucceeded), apimeta.FindStatusCondition(want.Conditions, bkv1.ConditionSucceeded)
			if gc == nil || gc.Status != wc.Status || gc.Reason != wc.Reason || gc.Message != wc.Message || !gc.LastTransitionTime.Equal(&wc.LastTransitionTime) {
				t.Errorf("Succeeded condition %+v, want %+v", gc, wc)
			}
			ac := apimeta.FindStatusCondition(got.Conditions, bkv1.ConditionArchived)
			if got.ArchivedTime == nil || !got.ArchivedTime.Time.Equal(rec.ArchivedAt) || ac == nil || ac.Status != metav1.ConditionTrue || ac.Reason != bkv1.ReasonArchived {
				t.Errorf("archived %v condition %+v, want the row's archivedAt %v and Archived=True", got.ArchivedTime, ac, rec.ArchivedAt)
			}
			if planFinished(&bkv1.PluginInvocation{ObjectMeta: before.ObjectMeta, Spec: before.Spec, Status: got}, t0.Add(3*time.Minute), time.Hour).archive {
				t.Error("the adopted status would be archived again")
			}
		})
	}
}

func TestSplitDropped(t *testing.T) {
	cases := []struct {
		name  string
		lines []string
		want  int32
		kept  []string
	}{
		{"none", nil, 0, nil},
		{"no dropped line", []string{"a", "b"}, 0, []string{"a", "b"}},
		{"dropped line first", []string{history.DroppedLine(12), "a"}, 12, []string{"a"}},
		{"only the dropped line", []string{history.DroppedLine(3)}, 3, nil},
		{"a plugin's line that looks alike is kept", []string{"… 5 earlier log lines were dropped by me", "a"}, 0,
			[]string{"… 5 earlier log lines were dropped by me", "a"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			n, kept := splitDropped(c.lines)
			if n != c.want || strings.Join(kept, "|") != strings.Join(c.kept, "|") || (c.kept == nil) != (kept == nil) {
				t.Fatalf("splitDropped = %d %q, want %d %q", n, kept, c.want, c.kept)
			}
		})
	}
}
