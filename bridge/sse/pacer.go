package sse

import (
	"sync"
	"time"
)

// pacer is the shared clock of the coalesce window: busy streams wait for
// its next tick before they take more events. One timer serves every
// stream of a Handler, and it runs only while some stream waits: the
// first waiter arms it for one window, and its tick releases every stream
// that waited meanwhile. A stream thus waits at most one window, and all
// busy streams write their batches at the same moments.
//
// A pacer is safe for concurrent use.
type pacer struct {
	window time.Duration

	mu   sync.Mutex
	tick chan struct{} // closed at the next tick; nil while nobody waits
}

// next returns a channel that is closed at the next tick, arming one if
// none is pending.
func (p *pacer) next() <-chan struct{} {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tick == nil {
		p.tick = make(chan struct{})
		time.AfterFunc(p.window, p.fire)
	}
	return p.tick
}

// fire releases the streams that wait for this tick.
func (p *pacer) fire() {
	p.mu.Lock()
	defer p.mu.Unlock()
	close(p.tick)
	p.tick = nil
}
