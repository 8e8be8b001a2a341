package bridge

import "time"

// gatherTarget is the number of events from which a batch is large
// enough to be written at once, without waiting out the coalescing
// window.
const gatherTarget = 64

// MaxCoalesceWindow is the longest coalescing window a transport may be
// configured with. A writer holding a batch does not answer its signals
// (a client's ping, Shutdown) until the window ends; a window meant to
// save system calls is a few milliseconds.
const MaxCoalesceWindow = time.Second

// maxPaceCount caps the event count of a batch in the rate estimate, so
// that a replay of hundreds of events does not make a connection look
// busy for seconds after it.
const maxPaceCount = 4

// Pace decides when a connection's writer holds the events it just took
// for the coalescing window, so that those arriving meanwhile go out in
// the same write. Like Nagle's algorithm it holds only a busy connection:
// one whose recent events came, on average, less than a window and a
// quarter apart, so that another is likely within the window. The average
// is the time since the previous batch was taken divided by that batch's
// events (those gathered with it included): a steady 100 msg/s stream
// coalesced in pairs is taken every 20 ms, two events a batch, and stays
// busy at 10 ms apart. An event after a quiet spell goes out at once, so
// coalescing costs neither latency nor work at low rates.
//
// The zero Pace never holds. A Pace belongs to one writer; it is not
// safe for concurrent use.
type Pace struct {
	wheel *Wheel    // the transport's clock of the window; nil when coalescing is off
	last  time.Time // when the previous batch was taken
	count int       // its events
}

// NewPace returns the pace of a connection whose transport coalesces on
// wheel (nil: never holds).
func NewPace(wheel *Wheel) Pace { return Pace{wheel: wheel} }

// Hold decides for the n events taken at now: it returns nil when they
// should be written at once, or else a channel closed when their window
// ends. A writer may stop waiting early, when its connection must end.
func (p *Pace) Hold(now time.Time, n int) <-chan struct{} {
	if p.wheel == nil || n >= gatherTarget || p.count == 0 {
		return nil
	}
	w := p.wheel.window
	k := time.Duration(min(p.count, maxPaceCount))
	if now.Sub(p.last) >= k*(w+w/4) {
		return nil
	}
	return p.wheel.After(now)
}

// Took records a batch of n events taken at now (before any wait for
// the window), with those gathered for it.
func (p *Pace) Took(now time.Time, n int) {
	p.last, p.count = now, n
}
