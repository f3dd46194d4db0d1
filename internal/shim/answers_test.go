package shim

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/internal/history"
)

var t0 = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { t := metav1.NewTime(t0.Add(d)); return &t }

func js(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

const traceA = "0123456789abcdef0123456789abcdef"

// finishedInvocation is a finished invocation as the manager leaves it
// before archiving it.
func finishedInvocation() *bkv1.PluginInvocation {
	return &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: traceA, CreationTimestamp: *at(0)},
		Spec: bkv1.PluginInvocationSpec{
			Plugin: "hello", Version: "^1.0",
			Inputs:  js(`{"name":"world"}`),
			Context: js(`{"project":7}`),
			Caller:  &bkv1.Caller{AppCode: "sops", Username: "alice"},
		},
		Status: bkv1.PluginInvocationStatus{
			State: bkv1.StateSuccess, ResolvedVersion: "1.2.0", InvokeCount: 2,
			Outputs:   js(`{"greeting":"hello world","token":"******"}`),
			StartTime: at(time.Second), CompletionTime: at(3 * time.Second),
			Logs: []string{"level=INFO msg=polling", "level=INFO msg=done\nsecond line"},
			Conditions: []metav1.Condition{
				{Type: bkv1.ConditionSucceeded, Status: metav1.ConditionTrue, Reason: bkv1.ReasonSucceeded, Message: "plugin answered SUCCESS", LastTransitionTime: *at(3 * time.Second)},
				{Type: bkv1.ConditionNotified, Status: metav1.ConditionTrue, Reason: bkv1.ReasonNotificationSent, Message: "sent", LastTransitionTime: *at(4 * time.Second)},
			},
		},
	}
}

// TestLiveAndArchivedAnswersAgree gives the live mappings an invocation and
// the archived ones the record the manager writes of it, through a real
// (SQLite) archive, and wants the same answers.
func TestLiveAndArchivedAnswersAgree(t *testing.T) {
	ctx := context.Background()
	a, err := archive.Open(ctx, "sqlite://:memory:", archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })

	cases := []struct {
		name string
		edit func(*bkv1.PluginInvocation)
	}{
		{"success with outputs and log lines", func(*bkv1.PluginInvocation) {}},
		{"fail with an error", func(inv *bkv1.PluginInvocation) {
			inv.Status.State, inv.Status.Error = bkv1.StateFail, "plugin said no"
			inv.Status.Conditions[0].Status, inv.Status.Conditions[0].Reason = metav1.ConditionFalse, bkv1.ReasonPluginFailed
		}},
		{"no outputs", func(inv *bkv1.PluginInvocation) { inv.Status.Outputs = nil }},
		{"null outputs", func(inv *bkv1.PluginInvocation) { inv.Status.Outputs = js(`null`) }},
		{"never resolved: the requested version shows", func(inv *bkv1.PluginInvocation) {
			inv.Status.ResolvedVersion, inv.Status.StartTime = "", nil
			inv.Status.State, inv.Status.Error = bkv1.StateFail, "no version matches ^1.0"
		}},
		{"no log lines", func(inv *bkv1.PluginInvocation) { inv.Status.Logs = nil }},
		{"dropped log lines", func(inv *bkv1.PluginInvocation) { inv.Status.LogLinesDropped = 12 }},
		{"sub-second times", func(inv *bkv1.PluginInvocation) {
			inv.Status.CompletionTime = at(3*time.Second + 700*time.Millisecond)
		}},
	}
	for i, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			inv := finishedInvocation()
			inv.Name = fmt.Sprintf("%032x", i+1)
			c.edit(inv)
			rec, err := history.Record(inv, history.Masking{})
			if err != nil {
				t.Fatal(err)
			}
			if err := a.Put(ctx, rec); err != nil {
				t.Fatal(err)
			}
			got, err := a.Get(ctx, rec.Key)
			if err != nil {
				t.Fatal(err)
			}

			if live, arch := scheduleData(inv), scheduleFromRecord(&got); !sameAnswer(live, arch) {
				t.Errorf("schedule:\n live     %s\n archived %s", mustJSON(live), mustJSON(arch))
			}
			if live, arch := invokeData(inv), invokeFromRecord(&got); !sameAnswer(live, arch) {
				t.Errorf("invoke:\n live     %s\n archived %s", mustJSON(live), mustJSON(arch))
			}
			if live, arch := summaryOf(inv), summaryFromRecord(&got); !sameAnswer(live, arch) {
				t.Errorf("history item:\n live     %s\n archived %s", mustJSON(live), mustJSON(arch))
			}

			liveLog := logLines(history.Timeline(inv), history.Lines(&inv.Status))
			page, err := a.Logs(ctx, rec.Key, 0, 0)
			if err != nil {
				t.Fatal(err)
			}
			if archLog := logLines(got.Timeline, page.Lines); !reflect.DeepEqual(liveLog, archLog) {
				t.Errorf("log:\n live     %q\n archived %q", liveLog, archLog)
			}
			for _, l := range liveLog {
				for _, r := range l {
					if r == '\n' {
						t.Errorf("log line %q holds a newline: the answer is split on them", l)
					}
				}
			}
		})
	}
}

func sameAnswer(a, b any) bool { return mustJSON(a) == mustJSON(b) }

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func TestArchivedLogPages(t *testing.T) {
	ctx := context.Background()
	a, err := archive.Open(ctx, "sqlite://:memory:", archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	inv := finishedInvocation()
	inv.Status.Logs = nil
	for i := range 12 {
		inv.Status.Logs = append(inv.Status.Logs, fmt.Sprintf("line %d", i))
	}
	rec, err := history.Record(inv, history.Masking{})
	if err != nil {
		t.Fatal(err)
	}
	if err := a.Put(ctx, rec); err != nil {
		t.Fatal(err)
	}
	all := logLines(rec.Timeline, rec.Logs)
	l := &logs{past: &readThrough{arch: a}}
	for _, page := range []logPage{
		{}, {Paged: true}, {Offset: 0, Limit: 1, Paged: true}, {Offset: 1, Limit: 3, Paged: true},
		{Offset: len(rec.Timeline) - 1, Limit: 2, Paged: true}, {Offset: len(rec.Timeline), Paged: true},
		{Offset: 5, Limit: 100, Paged: true}, {Offset: len(all) - 1, Limit: 5, Paged: true},
		{Offset: len(all), Limit: 5, Paged: true}, {Offset: len(all) + 10, Paged: true},
	} {
		got, err := l.archivedLog(ctx, &rec, page)
		if err != nil {
			t.Fatalf("%+v: %v", page, err)
		}
		want := logsData(page, pageOf(page, all), len(all))
		if !sameAnswer(got, want) {
			t.Errorf("page %+v:\n got  %s\n want %s", page, mustJSON(got), mustJSON(want))
		}
	}
}
