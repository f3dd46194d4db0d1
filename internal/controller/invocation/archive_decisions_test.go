package invocation

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
	"github.com/bkplugin/bk-plugin-operator/internal/archive"
)

func TestApplyArchive(t *testing.T) {
	done := func(i *bkv1.PluginInvocation) { i.Status.CompletionTime = at(time.Hour) }
	archivedCond := func(reason string, since time.Duration) func(*bkv1.PluginInvocation) {
		return func(i *bkv1.PluginInvocation) {
			i.Status.Conditions = append(i.Status.Conditions, metav1.Condition{Type: bkv1.ConditionArchived,
				Status: metav1.ConditionFalse, Reason: reason, Message: "old", LastTransitionTime: *at(since)})
		}
	}
	down := fmt.Errorf("connect to the archive at postgres://bk@db:5432/h: connection refused")
	refused := fmt.Errorf("%w: ns/x: log line 3 holds a NUL byte", archive.ErrInvalid)
	now := t0.Add(2 * time.Hour)
	cases := []struct {
		name       string
		inv        *bkv1.PluginInvocation
		err        error
		wantWrite  bool
		wantKind   string
		wantReason string
		wantStatus metav1.ConditionStatus
		wantRetry  time.Duration
		// wantSince is when the condition's transition is, from t0.
		wantSince time.Duration
	}{
		{name: "archived: archivedTime and Archived=True, nothing to retry",
			inv: invocation(bkv1.StateSuccess, done), wantWrite: true, wantKind: archiveOK,
			wantReason: bkv1.ReasonArchived, wantStatus: metav1.ConditionTrue, wantSince: 2 * time.Hour},
		{name: "archived after an outage: the condition turns True",
			inv: invocation(bkv1.StateSuccess, done, archivedCond(bkv1.ReasonArchiveUnavailable, time.Hour)), wantWrite: true, wantKind: archiveOK,
			wantReason: bkv1.ReasonArchived, wantStatus: metav1.ConditionTrue, wantSince: 2 * time.Hour},
		{name: "first failure: Archived=False ArchiveUnavailable written, retried soon",
			inv: invocation(bkv1.StateSuccess, done), err: down, wantWrite: true, wantKind: archiveUnavailable,
			wantReason: bkv1.ReasonArchiveUnavailable, wantStatus: metav1.ConditionFalse, wantRetry: archiveRetryMin, wantSince: 2 * time.Hour},
		{name: "still down: nothing written, the wait grows with the outage",
			inv: invocation(bkv1.StateSuccess, done, archivedCond(bkv1.ReasonArchiveUnavailable, 2*time.Hour-10*time.Second)), err: down,
			wantKind: archiveUnavailable, wantReason: bkv1.ReasonArchiveUnavailable, wantStatus: metav1.ConditionFalse,
			wantRetry: 10 * time.Second, wantSince: 2*time.Hour - 10*time.Second},
		{name: "down for long: a try a minute",
			inv: invocation(bkv1.StateSuccess, done, archivedCond(bkv1.ReasonArchiveUnavailable, time.Hour)), err: down,
			wantKind: archiveUnavailable, wantReason: bkv1.ReasonArchiveUnavailable, wantStatus: metav1.ConditionFalse,
			wantRetry: archiveRetryMax, wantSince: time.Hour},
		{name: "refused: ArchiveRefused, tried again hourly",
			inv: invocation(bkv1.StateFail, done), err: refused, wantWrite: true, wantKind: archiveRefused,
			wantReason: bkv1.ReasonArchiveRefused, wantStatus: metav1.ConditionFalse, wantRetry: archiveRefusedRetry, wantSince: 2 * time.Hour},
		{name: "refused after being down: the reason changes",
			inv: invocation(bkv1.StateFail, done, archivedCond(bkv1.ReasonArchiveUnavailable, time.Hour)), err: refused, wantWrite: true,
			wantKind: archiveRefused, wantReason: bkv1.ReasonArchiveRefused, wantStatus: metav1.ConditionFalse,
			wantRetry: archiveRefusedRetry, wantSince: 2 * time.Hour},
		{name: "refused again: nothing written",
			inv: invocation(bkv1.StateFail, done, archivedCond(bkv1.ReasonArchiveRefused, time.Hour)), err: refused,
			wantKind: archiveRefused, wantReason: bkv1.ReasonArchiveRefused, wantStatus: metav1.ConditionFalse,
			wantRetry: archiveRefusedRetry, wantSince: time.Hour},
		{name: "a wrapped unavailable error is not a refusal",
			inv: invocation(bkv1.StateSuccess, done), err: fmt.Errorf("put: %w", archive.ErrUnavailable), wantWrite: true,
			wantKind: archiveUnavailable, wantReason: bkv1.ReasonArchiveUnavailable, wantStatus: metav1.ConditionFalse,
			wantRetry: archiveRetryMin, wantSince: 2 * time.Hour},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := tc.inv.DeepCopy()
			out := applyArchive(tc.inv, tc.err, now)
			if out.write != tc.wantWrite || out.kind != tc.wantKind || out.retryAfter != tc.wantRetry {
				t.Fatalf("write=%v kind=%s retry=%v, want %v %s %v", out.write, out.kind, out.retryAfter, tc.wantWrite, tc.wantKind, tc.wantRetry)
			}
			c := apimeta.FindStatusCondition(out.status.Conditions, bkv1.ConditionArchived)
			if c == nil || c.Reason != tc.wantReason || c.Status != tc.wantStatus || !c.LastTransitionTime.Time.Equal(t0.Add(tc.wantSince)) {
				t.Fatalf("Archived condition %+v, want %s %s since %v", c, tc.wantStatus, tc.wantReason, tc.wantSince)
			}
			if (out.status.ArchivedTime != nil) != (tc.err == nil) {
				t.Fatalf("archivedTime %v with error %v", out.status.ArchivedTime, tc.err)
			}
			if tc.err != nil && out.write && !strings.Contains(c.Message, tc.err.Error()) {
				t.Errorf("message %q does not say why", c.Message)
			}
			if !errors.Is(tc.err, archive.ErrInvalid) && tc.err != nil && out.status.ArchivedTime != nil {
				t.Error("a failed Put marked the invocation archived")
			}
			if tc.inv.Status.ArchivedTime != before.Status.ArchivedTime || len(tc.inv.Status.Conditions) != len(before.Status.Conditions) {
				t.Error("applyArchive changed the invocation it was given")
			}
		})
	}
}
