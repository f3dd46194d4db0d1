package retire

import (
	"fmt"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// Decision is what to do with an object whose deletion waits on
// RetireFinalizer.
type Decision struct {
	// Release is true when the finalizer may go: no live invocation uses
	// the object, or the grace period is over.
	Release bool
	// RequeueAfter, when the object is held, is when the grace period ends;
	// invocation events reconcile it earlier as they finish.
	RequeueAfter time.Duration
	// Condition is the Retiring condition to record (kubectl describe
	// shows why deletion waits).
	Condition metav1.Condition
}

// Decide says whether the deletion of an object deleted at deletedAt, used
// by live invocations, may complete at now given the grace period. kind
// and name only word the message.
func Decide(kind, name string, deletedAt time.Time, grace time.Duration, live int, now time.Time) Decision {
	deadline := deletedAt.Add(grace)
	switch {
	case live <= 0:
		return Decision{Release: true, Condition: metav1.Condition{
			Type: bkv1.ConditionRetiring, Status: metav1.ConditionFalse, Reason: bkv1.RetireReasonUnused,
			Message: fmt.Sprintf("no live invocation uses %s %s; deleting it", kind, name),
		}}
	case !now.Before(deadline):
		return Decision{Release: true, Condition: metav1.Condition{
			Type: bkv1.ConditionRetiring, Status: metav1.ConditionFalse, Reason: bkv1.RetireReasonGracePeriodOver,
			Message: fmt.Sprintf("the grace period of %s ended at %s with %s still live; deleting %s %s",
				grace, deadline.UTC().Format(time.RFC3339), invocations(live), kind, name),
		}}
	default:
		return Decision{RequeueAfter: deadline.Sub(now), Condition: metav1.Condition{
			Type: bkv1.ConditionRetiring, Status: metav1.ConditionTrue, Reason: bkv1.RetireReasonInUse,
			Message: fmt.Sprintf("deletion waits for %s to finish, or until %s (grace period %s)",
				invocations(live), deadline.UTC().Format(time.RFC3339), grace),
		}}
	}
}

// GracePeriod is an object's own grace period in seconds when set, else def.
func GracePeriod(seconds *int64, def time.Duration) time.Duration {
	if seconds != nil {
		return time.Duration(*seconds) * time.Second
	}
	return def
}

func invocations(n int) string {
	if n == 1 {
		return "1 live invocation"
	}
	return fmt.Sprintf("%d live invocations", n)
}
