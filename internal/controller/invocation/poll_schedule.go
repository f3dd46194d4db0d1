package invocation

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
)

// pollSchedule remembers, per polling invocation, the exact time its next
// poll is due. Status keeps nextPollTime in whole seconds (metav1.Time), so
// the copy read back has lost the fraction; the reconciler requeues for the
// exact time and measures lateness against it. Only the lateness metric
// reads it: after a restart the recorded time is used, as before.
type pollSchedule struct {
	mu  sync.Mutex
	due map[types.NamespacedName]time.Time
}

func newPollSchedule() *pollSchedule {
	return &pollSchedule{due: map[types.NamespacedName]time.Time{}}
}

// set records key's next poll at due.
func (p *pollSchedule) set(key types.NamespacedName, due time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.due[key] = due
}

// dueTime returns when key's poll is due: the exact time remembered for it
// when recorded is that time in whole seconds, else recorded.
func (p *pollSchedule) dueTime(key types.NamespacedName, recorded time.Time) time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	if exact, ok := p.due[key]; ok && exact.Unix() == recorded.Unix() {
		return exact
	}
	return recorded
}

// exact returns the exact due time remembered for key when recorded is that
// time in whole seconds.
func (p *pollSchedule) exact(key types.NamespacedName, recorded time.Time) (time.Time, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	exact, ok := p.due[key]
	return exact, ok && exact.Unix() == recorded.Unix()
}

// forget drops key, for invocations no longer polling.
func (p *pollSchedule) forget(key types.NamespacedName) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.due, key)
}
