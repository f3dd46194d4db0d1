package invocation

import (
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

func TestExecuteSlotsWakeInOrder(t *testing.T) {
	var woken []string
	g := newVersionGates(func(k types.NamespacedName) { woken = append(woken, k.Name) })
	key := func(n string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: n} }
	for _, n := range []string{"a", "b"} {
		if ok, _ := g.tryAcquire("v", key(n), 2); !ok {
			t.Fatalf("%s: a free slot was refused", n)
		}
	}
	for i, n := range []string{"c", "d", "c"} {
		ok, place := g.tryAcquire("v", key(n), 2)
		if ok {
			t.Fatalf("%s: a third slot was given under a cap of 2", n)
		}
		if want := []int{1, 2, 1}[i]; place != want {
			t.Errorf("%s waits at place %d, want %d", n, place, want)
		}
	}
	if ok, _ := g.tryAcquire("other", key("e"), 2); !ok {
		t.Fatal("another version's slots are its own")
	}
	g.release("v")
	g.release("v")
	g.release("v")
	if len(woken) != 2 || woken[0] != "c" || woken[1] != "d" {
		t.Fatalf("woken %v, want [c d]: in order, each once", woken)
	}
	g.forget(key("c"))
}

func TestReserveDefersAndKeepsTheToken(t *testing.T) {
	g := newVersionGates(nil)
	inv := func(n string) types.NamespacedName { return types.NamespacedName{Namespace: "ns", Name: n} }
	now := t0
	// 10/s with a burst of 2: two at once, then one per 100ms.
	if d := g.reserve("v", inv("a"), 10, 2, now); d != 0 {
		t.Fatalf("first: wait %s", d)
	}
	if d := g.reserve("v", inv("b"), 10, 2, now); d != 0 {
		t.Fatalf("second (burst): wait %s", d)
	}
	dc := g.reserve("v", inv("c"), 10, 2, now)
	if dc < 90*time.Millisecond || dc > 110*time.Millisecond {
		t.Fatalf("third: wait %s, want about 100ms", dc)
	}
	dd := g.reserve("v", inv("d"), 10, 2, now)
	if dd < 190*time.Millisecond || dd > 210*time.Millisecond {
		t.Fatalf("fourth: wait %s, want about 200ms", dd)
	}
	// c comes back early: same reservation, the rest of its wait.
	if d := g.reserve("v", inv("c"), 10, 2, now.Add(50*time.Millisecond)); d < 40*time.Millisecond || d > 60*time.Millisecond {
		t.Fatalf("c early: wait %s, want about 50ms", d)
	}
	// c on time: goes ahead without taking another token, so d's turn is
	// unchanged and a new one waits behind d.
	if d := g.reserve("v", inv("c"), 10, 2, now.Add(dc)); d != 0 {
		t.Fatalf("c on time: wait %s", d)
	}
	if d := g.reserve("v", inv("e"), 10, 2, now.Add(dc)); d < 190*time.Millisecond || d > 210*time.Millisecond {
		t.Fatalf("e: wait %s, want about 200ms (behind d)", d)
	}
}
