package invocation

import (
	"sync"
	"time"
)

// archiveGate keeps a slow or dead archive from taking the reconciler's
// workers, which live invocations need: at most limit Puts are in flight
// at once, and after a Put fails for the archive's sake the gate stays shut
// for a pause, during which attempts fail at once instead of waiting out
// their timeout.
type archiveGate struct {
	slots chan struct{}
	pause time.Duration

	mu        sync.Mutex
	shutUntil time.Time
}

func newArchiveGate(limit int, pause time.Duration) *archiveGate {
	return &archiveGate{slots: make(chan struct{}, max(limit, 1)), pause: pause}
}

// gateAnswer is what enter says.
type gateAnswer int

const (
	// gateOpen: start the Put, then call leave.
	gateOpen gateAnswer = iota
	// gateBusy: limit Puts are in flight; try again in a moment (the
	// archive is not known to be down).
	gateBusy
	// gateShut: a Put failed a moment ago; count this attempt as failed.
	gateShut
)

// enter says whether a Put may start at now. It does not wait.
func (g *archiveGate) enter(now time.Time) gateAnswer {
	g.mu.Lock()
	shut := now.Before(g.shutUntil)
	g.mu.Unlock()
	if shut {
		return gateShut
	}
	select {
	case g.slots <- struct{}{}:
		return gateOpen
	default:
		return gateBusy
	}
}

// leave ends a Put that enter let start; unavailable says it failed for
// the archive's sake, which shuts the gate for the pause from now.
func (g *archiveGate) leave(now time.Time, unavailable bool) {
	<-g.slots
	if unavailable {
		g.mu.Lock()
		g.shutUntil = now.Add(g.pause)
		g.mu.Unlock()
	}
}
