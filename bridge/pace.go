package bridge

import (
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/engine"
)

// MaxCoalesceWindow is the longest coalescing window a transport may be
// configured with. Events of a busy connection wait up to the window
// before they are written; a window meant to save system calls is a few
// milliseconds.
const MaxCoalesceWindow = time.Second

// maxPaceCount caps the event count of a batch in the rate estimate, so
// that a replay of hundreds of events does not make a connection look
// busy for seconds after it.
const maxPaceCount = 4

// Pace is a connection's coalescing window. As the Postponer of the
// connection's subscription it decides, when an event arrives for a
// writer that has written everything, whether the writer wakes at once or
// at the end of the window, so that the events arriving meanwhile pile up
// and go out in the same write, with one wake-up of the writer rather
// than a wake-up and a write each.
//
// Like Nagle's algorithm it holds only a busy connection: one whose
// recent events came, on average, less than a window and a quarter
// apart, so that another is likely within the window. The average is the
// time since the writer last took events divided by their count: a steady
// 100 msg/s stream coalesced in pairs is taken every 20 ms, two events a
// batch, and stays busy at 10 ms apart. An event after a quiet spell
// wakes the writer at once, so coalescing costs neither latency nor work
// at low rates. A writer woken for anything else (a client's frame, a
// timer, the end) takes the postponed events along.
//
// The zero Pace never postpones. Took is called by the connection's
// writer; Postpone, from the goroutines that deliver events, may run
// concurrently with it. A Pace must not be copied once attached.
type Pace struct {
	wheel *Wheel // the transport's clock of the window; nil when coalescing is off

	// busyUntil is the time, on the wheel's clock, before which an event
	// arriving finds the connection busy; zero until the first batch.
	busyUntil atomic.Int64
}

var _ engine.Postponer = (*Pace)(nil)

// NewPace returns the pace of a connection whose transport coalesces on
// wheel (nil: never postpones).
func NewPace(wheel *Wheel) Pace { return Pace{wheel: wheel} }

// Attach makes p the Postponer of sub, when p coalesces at all.
func (p *Pace) Attach(sub Subscription) {
	if p.wheel != nil {
		sub.SetPostponer(p)
	}
}

// Postpone implements engine.Postponer: when the connection is busy, it
// wakes w at the last tick of the wheel within a window of now.
func (p *Pace) Postpone(w engine.Waker) bool {
	until := p.busyUntil.Load()
	if p.wheel == nil || until == 0 {
		return false
	}
	now := p.wheel.now()
	if int64(now) >= until {
		return false
	}
	p.wheel.wakeAt(now, w)
	return true
}

// Took records that the writer took n events (n > 0) at now.
func (p *Pace) Took(now time.Time, n int) {
	if p.wheel == nil {
		return
	}
	w := p.wheel.window
	k := time.Duration(min(n, maxPaceCount))
	p.busyUntil.Store(int64(p.wheel.clock(now) + k*(w+w/4)))
}
