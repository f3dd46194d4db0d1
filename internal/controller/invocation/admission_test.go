package invocation

import (
	"reflect"
	"strings"
	"testing"
	"time"

	apimeta "k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// entry is a live invocation for the admission tables: created at t0 plus
// minutes, with a priority, admitted or waiting.
func entry(name string, minutes int, priority int32, admitted bool) queueEntry {
	return queueEntry{name: name, priority: priority, created: t0.Add(time.Duration(minutes) * time.Minute), admitted: admitted}
}

func TestDecideAdmission(t *testing.T) {
	cases := []struct {
		name      string
		maxActive int32
		self      queueEntry
		live      []queueEntry
		want      admissionDecision
	}{
		{"first invocation, free slot", 2, entry("a", 0, 0, false), nil,
			admissionDecision{admit: true}},
		{"self listed, free slot", 2, entry("a", 0, 0, false), []queueEntry{entry("a", 0, 0, false)},
			admissionDecision{admit: true}},
		{"at the cap: queued first", 2, entry("c", 2, 0, false),
			[]queueEntry{entry("a", 0, 0, true), entry("b", 1, 0, true), entry("c", 2, 0, false)},
			admissionDecision{position: 1, active: 2, waiting: 1}},
		{"one free slot, an older one waits: it goes first", 2, entry("c", 2, 0, false),
			[]queueEntry{entry("a", 0, 0, true), entry("b", 1, 0, false), entry("c", 2, 0, false)},
			admissionDecision{position: 2, active: 1, waiting: 2}},
		{"one free slot, self is the oldest waiting", 2, entry("b", 1, 0, false),
			[]queueEntry{entry("a", 0, 0, true), entry("b", 1, 0, false), entry("c", 2, 0, false)},
			admissionDecision{admit: true, active: 1, waiting: 1}},
		{"two free slots: the second in line starts too", 3, entry("c", 2, 0, false),
			[]queueEntry{entry("a", 0, 0, true), entry("b", 1, 0, false), entry("c", 2, 0, false)},
			admissionDecision{admit: true, active: 1, waiting: 1}},
		{"higher priority goes ahead of older", 2, entry("new", 5, 10, false),
			[]queueEntry{entry("a", 0, 0, true), entry("old", 1, 0, false)},
			admissionDecision{admit: true, active: 1, waiting: 1}},
		{"lower priority waits behind newer", 2, entry("old", 1, -5, false),
			[]queueEntry{entry("a", 0, 0, true), entry("new", 5, 0, false)},
			admissionDecision{position: 2, active: 1, waiting: 2}},
		{"same time: name breaks the tie", 1, entry("b", 1, 0, false),
			[]queueEntry{entry("a", 1, 0, false)},
			admissionDecision{position: 2, waiting: 2}},
		{"admitted self always proceeds", 1, entry("a", 0, 0, true),
			[]queueEntry{entry("x", 0, 0, true)},
			admissionDecision{admit: true}},
		{"over the cap (cap lowered): waits", 1, entry("c", 0, 100, false),
			[]queueEntry{entry("a", 0, 0, true), entry("b", 0, 0, true)},
			admissionDecision{position: 1, active: 2, waiting: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := decideAdmission(c.maxActive, c.self, c.live); got != c.want {
				t.Errorf("decideAdmission = %+v, want %+v", got, c.want)
			}
		})
	}
}

func TestWakeNext(t *testing.T) {
	cases := []struct {
		name      string
		maxActive int32
		live      []queueEntry
		want      []string
	}{
		{"nobody waits", 2, []queueEntry{entry("a", 0, 0, true)}, nil},
		{"one free slot: the head", 2, []queueEntry{entry("a", 0, 0, true), entry("c", 2, 0, false), entry("b", 1, 0, false)}, []string{"b"}},
		{"two free: the first two by priority then age", 3,
			[]queueEntry{entry("a", 0, 0, true), entry("c", 2, 0, false), entry("b", 1, 0, false), entry("z", 9, 7, false)}, []string{"z", "b"}},
		{"cache shows no free slot: still the head", 1, []queueEntry{entry("a", 0, 0, true), entry("b", 1, 0, false)}, []string{"b"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := wakeNext(c.maxActive, c.live); !reflect.DeepEqual(got, c.want) {
				t.Errorf("wakeNext = %v, want %v", got, c.want)
			}
		})
	}
}

func TestHoldsSlot(t *testing.T) {
	start := metav1.NewTime(t0)
	cases := []struct {
		name string
		st   bkv1.PluginInvocationStatus
		want bool
	}{
		{"new", bkv1.PluginInvocationStatus{}, false},
		{"queued", bkv1.PluginInvocationStatus{Conditions: []metav1.Condition{{Type: bkv1.ConditionQueued, Status: metav1.ConditionTrue}}}, false},
		{"admitted", bkv1.PluginInvocationStatus{Conditions: []metav1.Condition{{Type: bkv1.ConditionQueued, Status: metav1.ConditionFalse}}}, true},
		{"started", bkv1.PluginInvocationStatus{State: bkv1.StatePoll, StartTime: &start}, true},
		{"finished", bkv1.PluginInvocationStatus{State: bkv1.StateSuccess, StartTime: &start}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := holdsSlot(&bkv1.PluginInvocation{Status: c.st}); got != c.want {
				t.Errorf("holdsSlot = %v, want %v", got, c.want)
			}
		})
	}
}

func TestQueuedStatus(t *testing.T) {
	inv := &bkv1.PluginInvocation{ObjectMeta: metav1.ObjectMeta{Name: "x", Generation: 3}}
	d := admissionDecision{position: 8, active: 2, waiting: 10}
	st, write := queuedStatus(inv, "tid", "1.0.0", "slow-1-0-0", 2, d, t0)
	if !write {
		t.Fatal("entering the queue must be written")
	}
	c := apimeta.FindStatusCondition(st.Conditions, bkv1.ConditionQueued)
	if c == nil || c.Status != metav1.ConditionTrue || c.Reason != bkv1.ReasonQueuedAtCap || !strings.Contains(c.Message, "position 8 of 10") {
		t.Fatalf("condition = %+v", c)
	}
	if st.QueuePosition != 8 || st.State != bkv1.StateEmpty || st.ResolvedVersion != "1.0.0" || st.TraceID != "tid" || st.StartTime != nil {
		t.Fatalf("status = %+v", st)
	}
	ev, ok := queuedEvent(&inv.Status, &st)
	if !ok || ev.reason != bkv1.ConditionQueued {
		t.Fatalf("entering the queue is an event: %+v %v", ev, ok)
	}
	inv.Status = st
	for _, m := range []struct {
		pos   int
		write bool
	}{{7, false}, {5, false}, {4, true}, {15, false}, {16, true}} {
		_, w := queuedStatus(inv, "tid", "1.0.0", "slow-1-0-0", 2, admissionDecision{position: m.pos, active: 2, waiting: 20}, t0)
		if w != m.write {
			t.Errorf("from position 8 to %d: write %v, want %v", m.pos, w, m.write)
		}
	}
	st2, _ := queuedStatus(inv, "tid", "1.0.0", "slow-1-0-0", 2, admissionDecision{position: 4, active: 2, waiting: 20}, t0)
	if _, ok := queuedEvent(&inv.Status, &st2); ok {
		t.Error("moving up in the queue is not an event")
	}
	admitted := admittedCopy(inv, t0.Add(90*time.Second))
	c = apimeta.FindStatusCondition(admitted.Status.Conditions, bkv1.ConditionQueued)
	if c.Status != metav1.ConditionFalse || c.Reason != bkv1.ReasonAdmitted || admitted.Status.QueuePosition != 0 || !strings.Contains(c.Message, "1m30s") {
		t.Errorf("admitted = %+v, position %d", c, admitted.Status.QueuePosition)
	}
	if inv.Status.QueuePosition != 8 {
		t.Error("admittedCopy changed its argument")
	}
	fresh := &bkv1.PluginInvocation{}
	if admittedCopy(fresh, t0) != fresh {
		t.Error("an invocation that never waited must stay without a Queued condition")
	}
}

func TestQueuedRecheck(t *testing.T) {
	if a, b := queuedRecheck(1), queuedRecheck(100); a >= b || a < time.Second {
		t.Errorf("recheck(1) = %s, recheck(100) = %s: nearer must look sooner", a, b)
	}
	if got := queuedRecheck(1 << 30); got != 2*time.Minute {
		t.Errorf("recheck far back = %s, want the 2m bound", got)
	}
}

func TestLimitsOf(t *testing.T) {
	cases := []struct {
		name   string
		limits *bkv1.ExecutionLimits
		want   executionLimits
	}{
		{"none", nil, executionLimits{}},
		{"caps", &bkv1.ExecutionLimits{MaxActiveInvocations: ptr.To[int32](3), MaxExecutesInFlight: ptr.To[int32](5)}, executionLimits{maxActive: 3, maxInFlight: 5}},
		{"rate, burst defaults to the rate", &bkv1.ExecutionLimits{ExecutesPerSecond: ptr.To[int32](10)}, executionLimits{perSecond: 10, burst: 10}},
		{"rate and burst", &bkv1.ExecutionLimits{ExecutesPerSecond: ptr.To[int32](10), Burst: ptr.To[int32](1)}, executionLimits{perSecond: 10, burst: 1}},
		{"burst without rate is ignored", &bkv1.ExecutionLimits{Burst: ptr.To[int32](4)}, executionLimits{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			plv := &bkv1.PluginVersion{Spec: bkv1.PluginVersionSpec{Limits: c.limits}}
			if got := limitsOf(plv); got != c.want {
				t.Errorf("limitsOf = %+v, want %+v", got, c.want)
			}
		})
	}
}
