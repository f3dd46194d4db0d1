package history

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
	"github.com/bkplugin/bk-plugin-operator/sdk/protocol"
)

var t0 = time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)

func at(d time.Duration) *metav1.Time { t := metav1.NewTime(t0.Add(d)); return &t }

func js(s string) *apiextensionsv1.JSON { return &apiextensionsv1.JSON{Raw: []byte(s)} }

// finished is a SUCCESS invocation as the manager leaves it.
func finished() *bkv1.PluginInvocation {
	return &bkv1.PluginInvocation{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "0123456789abcdef0123456789abcdef", CreationTimestamp: *at(0)},
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
			Logs: []string{"level=INFO msg=polling", "level=INFO msg=done"},
			Conditions: []metav1.Condition{
				{Type: bkv1.ConditionSucceeded, Status: metav1.ConditionTrue, Reason: bkv1.ReasonSucceeded, Message: "plugin answered SUCCESS", LastTransitionTime: *at(3 * time.Second)},
				{Type: bkv1.ConditionRetrying, Status: metav1.ConditionFalse, Reason: bkv1.ReasonRetrying, Message: "call succeeded", LastTransitionTime: *at(2 * time.Second)},
				{Type: bkv1.ConditionNotified, Status: metav1.ConditionTrue, Reason: bkv1.ReasonNotificationSent, Message: "sent", LastTransitionTime: *at(4 * time.Second)},
				{Type: bkv1.ConditionArchived, Status: metav1.ConditionFalse, Reason: bkv1.ReasonArchiveUnavailable, LastTransitionTime: *at(5 * time.Second)},
			},
		},
	}
}

func TestRecord(t *testing.T) {
	cases := []struct {
		name  string
		edit  func(*bkv1.PluginInvocation)
		m     Masking
		check func(t *testing.T, r archive.Record)
		err   error
	}{{
		name: "success: every field from spec and status",
		check: func(t *testing.T, r archive.Record) {
			want := archive.Record{
				Key: archive.Key{Namespace: "ns", TraceID: "0123456789abcdef0123456789abcdef"}, Plugin: "hello",
				RequestedVersion: "^1.0", ResolvedVersion: "1.2.0", State: protocol.StateSuccess,
				Inputs: json.RawMessage(`{"name":"world"}`), Context: json.RawMessage(`{"project":7}`),
				Outputs: json.RawMessage(`{"greeting":"hello world","token":"******"}`), InvokeCount: 2,
				Caller: archive.Caller{AppCode: "sops", Username: "alice"}, CreatedAt: t0, StartedAt: t0.Add(time.Second),
				FinishedAt: t0.Add(3 * time.Second), Logs: []string{"level=INFO msg=polling", "level=INFO msg=done"},
			}
			r.Timeline = nil
			if got, _ := json.Marshal(r); string(got) != string(must(json.Marshal(want))) {
				t.Fatalf("record\n got %s\nwant %s", got, must(json.Marshal(want)))
			}
		},
	}, {
		name: "attempts: a retried invocation's attempts go to the record as JSON",
		edit: func(inv *bkv1.PluginInvocation) {
			inv.Status.Attempt = 2
			inv.Status.Attempts = []bkv1.AttemptStatus{
				{Attempt: 1, State: bkv1.StateFail, Reason: bkv1.ReasonPluginFailed, Error: "boom", InvokeCount: 1, StartTime: at(time.Second), CompletionTime: at(2 * time.Second)},
				{Attempt: 2, State: bkv1.StateSuccess, Reason: bkv1.ReasonSucceeded, InvokeCount: 1, StartTime: at(3 * time.Second), CompletionTime: at(3 * time.Second)},
			}
		},
		check: func(t *testing.T, r archive.Record) {
			var got []bkv1.AttemptStatus
			if err := json.Unmarshal(r.Attempts, &got); err != nil {
				t.Fatalf("attempts %s: %v", r.Attempts, err)
			}
			if len(got) != 2 || got[0].Error != "boom" || got[0].Reason != bkv1.ReasonPluginFailed || got[1].State != bkv1.StateSuccess {
				t.Errorf("attempts = %s", r.Attempts)
			}
		},
	}, {
		name: "no attempts without a retry policy",
		check: func(t *testing.T, r archive.Record) {
			if r.Attempts != nil {
				t.Errorf("attempts = %s, want none", r.Attempts)
			}
		},
	}, {
		name: "timeline: created, started, conditions, end; oldest first; Archived left out",
		check: func(t *testing.T, r archive.Record) {
			var got []string
			for _, e := range r.Timeline {
				got = append(got, e.Time.Sub(t0).String()+" "+e.State+" "+e.Reason)
			}
			want := []string{"0s EMPTY Created", "1s  Started", "2s  CallFailed", "3s SUCCESS Succeeded", "4s  Sent"}
			if strings.Join(got, "|") != strings.Join(want, "|") {
				t.Fatalf("timeline %q, want %q", got, want)
			}
			if !strings.Contains(r.Timeline[0].Message, "by app sops for user alice") {
				t.Errorf("created message %q does not name the caller", r.Timeline[0].Message)
			}
		},
	}, {
		name: "sensitive input given in clear is masked; Secret inputs shown masked",
		edit: func(inv *bkv1.PluginInvocation) { inv.Spec.Inputs = js(`{"name":"world","password":"hunter2"}`) },
		m:    Masking{Inputs: []string{"password", "apikey"}, SecretInputs: []string{"apikey"}},
		check: func(t *testing.T, r archive.Record) {
			if string(r.Inputs) != `{"apikey":"******","name":"world","password":"******"}` {
				t.Fatalf("inputs %s", r.Inputs)
			}
		},
	}, {
		name: "sensitive output unmasked in status is masked anyway",
		edit: func(inv *bkv1.PluginInvocation) { inv.Status.Outputs = js(`{"token":"s3cr3t"}`) },
		m:    Masking{Outputs: []string{"token"}},
		check: func(t *testing.T, r archive.Record) {
			if string(r.Outputs) != `{"token":"******"}` {
				t.Fatalf("outputs %s", r.Outputs)
			}
		},
	}, {
		name: "failure: error, FAIL state, reason of the end",
		edit: func(inv *bkv1.PluginInvocation) {
			inv.Status.State, inv.Status.Error, inv.Status.Outputs = bkv1.StateFail, "boom\x00\xff", nil
			inv.Status.Conditions[0] = metav1.Condition{Type: bkv1.ConditionSucceeded, Status: metav1.ConditionFalse, Reason: bkv1.ReasonPluginFailed, Message: "boom", LastTransitionTime: *at(3 * time.Second)}
		},
		check: func(t *testing.T, r archive.Record) {
			if r.State != protocol.StateFail || r.Error != "boom\uFFFD\uFFFD" || r.Outputs != nil {
				t.Fatalf("state %v error %q outputs %s", r.State, r.Error, r.Outputs)
			}
			end := r.Timeline[3]
			if end.State != "FAIL" || end.Reason != bkv1.ReasonPluginFailed || end.Message != "invocation FAIL: boom" {
				t.Fatalf("end entry %+v", end)
			}
		},
	}, {
		name: "never started: no start time, failed before any execute",
		edit: func(inv *bkv1.PluginInvocation) {
			inv.Status = bkv1.PluginInvocationStatus{State: bkv1.StateFail, Error: "no version matches ^9", CompletionTime: at(time.Second)}
		},
		check: func(t *testing.T, r archive.Record) {
			if !r.StartedAt.IsZero() || r.ResolvedVersion != "" || len(r.Timeline) != 2 || r.Logs != nil {
				t.Fatalf("record %+v", r)
			}
		},
	}, {
		name: "completion time missing: the Succeeded transition stands in",
		edit: func(inv *bkv1.PluginInvocation) { inv.Status.CompletionTime = nil },
		check: func(t *testing.T, r archive.Record) {
			if !r.FinishedAt.Equal(t0.Add(3 * time.Second)) {
				t.Fatalf("finished %v", r.FinishedAt)
			}
		},
	}, {
		name: "dropped lines are said first",
		edit: func(inv *bkv1.PluginInvocation) { inv.Status.LogLinesDropped = 5 },
		check: func(t *testing.T, r archive.Record) {
			if len(r.Logs) != 3 || !strings.HasPrefix(r.Logs[0], "… 5 earlier log lines") {
				t.Fatalf("logs %q", r.Logs)
			}
		},
	}, {
		name: "a hand-made invocation is archived under the trace id status gives it",
		edit: func(inv *bkv1.PluginInvocation) {
			inv.Name, inv.Status.TraceID = "my-invocation", "fedcba9876543210fedcba9876543210"
		},
		check: func(t *testing.T, r archive.Record) {
			if r.TraceID != "fedcba9876543210fedcba9876543210" {
				t.Fatalf("trace id %q", r.TraceID)
			}
		},
	}, {
		name: "running: refused",
		edit: func(inv *bkv1.PluginInvocation) { inv.Status.State = bkv1.StatePoll },
		err:  ErrNotFinished,
	}, {
		name: "not started: refused",
		edit: func(inv *bkv1.PluginInvocation) { inv.Status = bkv1.PluginInvocationStatus{} },
		err:  ErrNotFinished,
	}, {
		name: "terminal without any end time: refused",
		edit: func(inv *bkv1.PluginInvocation) { inv.Status.CompletionTime, inv.Status.Conditions = nil, nil },
		err:  ErrNotFinished,
	}}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			inv := finished()
			if tc.edit != nil {
				tc.edit(inv)
			}
			r, err := Record(inv, tc.m)
			if !errors.Is(err, tc.err) {
				t.Fatalf("error %v, want %v", err, tc.err)
			}
			if err != nil {
				return
			}
			if err := r.Validate(); err != nil {
				t.Fatalf("the archive would refuse the record: %v", err)
			}
			tc.check(t, r)
		})
	}
}

// TestRecordNeverHoldsASecret puts a secret everywhere a caller or plugin
// could put one and checks the stored record never holds it in clear.
func TestRecordNeverHoldsASecret(t *testing.T) {
	const secret = "hunter2-secret"
	inv := finished()
	inv.Spec.Inputs = js(`{"name":"world","password":"` + secret + `"}`)
	inv.Status.Outputs = js(`{"token":"` + secret + `"}`)
	m := Masking{Inputs: []string{"password"}, Outputs: []string{"token"}, SecretInputs: []string{"apikey"}}
	r, err := Record(inv, m)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	a, err := archive.Open(ctx, "sqlite://:memory:", archive.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	if err := a.Put(ctx, r); err != nil {
		t.Fatal(err)
	}
	got, err := a.Get(ctx, r.Key)
	if err != nil {
		t.Fatal(err)
	}
	all, _ := json.Marshal(got)
	if strings.Contains(string(all), secret) {
		t.Fatalf("the archived record holds the secret in clear: %s", all)
	}
	logs, err := a.Logs(ctx, r.Key, 0, 0)
	if err != nil || logs.Total != 2 {
		t.Fatalf("logs %+v, %v", logs, err)
	}
	if string(got.Inputs) != `{"apikey":"******","name":"world","password":"******"}` {
		t.Fatalf("archived inputs %s", got.Inputs)
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
