package invocation

import (
	"testing"
	"time"
)

func TestArchiveGate(t *testing.T) {
	g := newArchiveGate(2, 5*time.Second)
	steps := []struct {
		name string
		do   func() gateAnswer
		want gateAnswer
	}{
		{"first Put", func() gateAnswer { return g.enter(t0) }, gateOpen},
		{"second Put", func() gateAnswer { return g.enter(t0) }, gateOpen},
		{"third finds no slot: busy, at once", func() gateAnswer { return g.enter(t0) }, gateBusy},
		{"a Put that worked frees its slot", func() gateAnswer { g.leave(t0, false); return g.enter(t0) }, gateOpen},
		{"a failed Put shuts the gate", func() gateAnswer { g.leave(t0.Add(time.Second), true); return g.enter(t0.Add(2 * time.Second)) }, gateShut},
		{"still shut before the pause ends", func() gateAnswer { return g.enter(t0.Add(5*time.Second + 999*time.Millisecond)) }, gateShut},
		{"open after the pause", func() gateAnswer { return g.enter(t0.Add(6 * time.Second)) }, gateOpen},
	}
	for _, s := range steps {
		if got := s.do(); got != s.want {
			t.Fatalf("%s: %v, want %v", s.name, got, s.want)
		}
	}
}
