package versions

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/event"

	bkv1 "github.com/bkplugin/bk-plugin-operator/api/v1alpha1"
)

// DefaultReprobeGap is how often, at most, one version is reprobed on
// request: executes of many invocations failing against one dead pod ask
// once, not once each.
const DefaultReprobeGap = 2 * time.Second

// reprobeBuffer is how many requests wait for the PluginVersion reconciler
// before more are dropped; a dropped request costs only promptness, since
// every version is probed on its own schedule too.
const reprobeBuffer = 256

// Reprobe carries requests to probe a PluginVersion now, from the
// invocation reconciler (an execute found the version's endpoint dead) to
// the PluginVersion reconciler, which watches Events. Without it a dead
// plugin pod left its version Ready until the next scheduled probe, up to
// the probe interval (5 minutes). Request never blocks. The manager makes
// one and hands it to both reconcilers; it is safe for concurrent use.
type Reprobe struct {
	events chan event.TypedGenericEvent[*bkv1.PluginVersion]
	gap    time.Duration

	mu sync.Mutex
	// last is when each version was last asked for, to keep to gap.
	last map[types.UID]time.Time
}

// NewReprobe returns a Reprobe that asks for each version at most once per
// gap (DefaultReprobeGap when not positive).
func NewReprobe(gap time.Duration) *Reprobe {
	if gap <= 0 {
		gap = DefaultReprobeGap
	}
	return &Reprobe{
		events: make(chan event.TypedGenericEvent[*bkv1.PluginVersion], reprobeBuffer),
		gap:    gap,
		last:   map[types.UID]time.Time{},
	}
}

// Request asks for plv to be probed now, unless it was asked for less than
// the gap ago or the queue is full; it reports whether it asked.
func (p *Reprobe) Request(plv *bkv1.PluginVersion, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	last, asked := p.last[plv.UID]
	if !ReprobeDue(last, asked, now, p.gap) {
		return false
	}
	select {
	case p.events <- event.TypedGenericEvent[*bkv1.PluginVersion]{Object: plv.DeepCopy()}:
	default:
		return false
	}
	p.last[plv.UID] = now
	// Forget versions not asked for lately, so that the map holds only
	// the versions failing now.
	if len(p.last) > reprobeBuffer {
		for uid, t := range p.last {
			if ReprobeDue(t, true, now, p.gap) {
				delete(p.last, uid)
			}
		}
	}
	return true
}

// Events is what the PluginVersion reconciler watches (source.Channel).
func (p *Reprobe) Events() <-chan event.TypedGenericEvent[*bkv1.PluginVersion] {
	return p.events
}

// ReprobeDue decides whether a version last asked for at last (asked:
// ever) may be asked for again at now: once the gap has passed, and at
// once when the clock went back.
func ReprobeDue(last time.Time, asked bool, now time.Time, gap time.Duration) bool {
	if !asked {
		return true
	}
	since := now.Sub(last)
	return since >= gap || since < 0
}
