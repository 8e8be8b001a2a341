package bridge

import (
	"sync"
	"time"
)

// wheelTicks is the number of ticks a Wheel divides its window into: a
// wait lasts between (wheelTicks-1)/wheelTicks of the window and the whole
// window. Fine ticks keep the waits close to the whole window, where they
// gather the most.
const wheelTicks = 32

// Wheel is the shared clock of a coalescing window: writers that gather
// a burst wait on it instead of sleeping on timers of their own. Waits end
// on ticks, every window/32, so that one timer serves every connection of
// a transport and the writers whose windows end on the same tick wake
// together, in one pass of the scheduler, rather than one timer firing
// (and possibly one wake-up of an idle process) each. The timer runs only
// while someone waits.
//
// A Wheel is safe for concurrent use.
type Wheel struct {
	window time.Duration
	tick   time.Duration
	base   time.Time // monotonic origin of the ticks

	mu    sync.Mutex
	slots []wheelSlot // pending ticks, earliest first
	timer *time.Timer // set for slots[0]; nil until the first wait
}

// wheelSlot is one pending tick: its number and the channel closed at it.
type wheelSlot struct {
	n  int64
	ch chan struct{}
}

// NewWheel returns a wheel for window, shortened to MaxCoalesceWindow if
// it is longer, or nil when window is not positive (coalescing off).
func NewWheel(window time.Duration) *Wheel {
	if window <= 0 {
		return nil
	}
	window = min(window, MaxCoalesceWindow)
	return &Wheel{window: window, tick: max(window/wheelTicks, time.Microsecond), base: time.Now()}
}

// After returns a channel closed at the last tick within a window of
// now: at most the window after now, and at least the window less one
// tick.
func (w *Wheel) After(now time.Time) <-chan struct{} {
	n := int64((now.Sub(w.base) + w.window) / w.tick)
	w.mu.Lock()
	defer w.mu.Unlock()
	i := len(w.slots)
	for i > 0 && w.slots[i-1].n >= n {
		if w.slots[i-1].n == n {
			return w.slots[i-1].ch
		}
		i--
	}
	ch := make(chan struct{})
	w.slots = append(w.slots, wheelSlot{})
	copy(w.slots[i+1:], w.slots[i:])
	w.slots[i] = wheelSlot{n: n, ch: ch}
	if i == 0 {
		w.arm(now)
	}
	return ch
}

// arm sets the timer for the earliest pending tick. w.mu must be held.
func (w *Wheel) arm(now time.Time) {
	d := w.base.Add(time.Duration(w.slots[0].n) * w.tick).Sub(now)
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
		return
	}
	w.timer.Reset(d)
}

// fire closes the channels of the ticks that are due and sets the timer
// for the next pending one. The channels are closed after the lock is
// released: closing one wakes every writer that waits on it, which
// writers calling After need not wait for.
func (w *Wheel) fire() {
	now := time.Now()
	due := int64(now.Sub(w.base) / w.tick)
	var buf [4]chan struct{}
	closing := buf[:0]
	w.mu.Lock()
	k := 0
	for k < len(w.slots) && w.slots[k].n <= due {
		closing = append(closing, w.slots[k].ch)
		k++
	}
	n := copy(w.slots, w.slots[k:])
	clear(w.slots[n:])
	w.slots = w.slots[:n]
	if n > 0 {
		w.arm(now)
	}
	w.mu.Unlock()
	for _, ch := range closing {
		close(ch)
	}
}
