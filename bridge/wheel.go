package bridge

import (
	"sync"
	"time"

	"github.com/heraldhq/herald/engine"
)

// wheelTicks is the number of ticks a Wheel divides its window into: a
// postponed wake-up comes between (wheelTicks-1)/wheelTicks of the window
// and the whole window after the event. Fine ticks keep the waits close
// to the whole window, where they gather the most.
const wheelTicks = 32

// maxSpareLists and maxSpareLen bound the wake lists a Wheel keeps for
// reuse: a few, each of up to a busy tick's connections.
const (
	maxSpareLists = 8
	maxSpareLen   = 1 << 14
)

// Wheel is the shared clock of a transport's coalescing window: it wakes
// the writers whose wake-ups Pace postponed. Wake-ups come on ticks, every
// window/32, so that one timer serves every connection of a transport
// and the writers whose windows end on the same tick wake together, in
// one pass, rather than one timer firing (and possibly one wake-up of an
// idle process) each. The timer runs only while a wake-up is pending.
//
// A Wheel is safe for concurrent use.
type Wheel struct {
	window time.Duration
	tick   time.Duration
	base   time.Time // monotonic origin of the ticks

	mu    sync.Mutex
	slots []wheelSlot      // pending ticks, earliest first
	spare [][]engine.Waker // emptied wake lists, for reuse
	timer *time.Timer      // set for slots[0]; nil until the first wake-up
}

// wheelSlot is one pending tick: its number and whom it wakes.
type wheelSlot struct {
	n     int64
	wakes []engine.Waker
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

// clock returns t on the wheel's clock: the time since its base.
func (w *Wheel) clock(t time.Time) time.Duration { return t.Sub(w.base) }

// now returns the time on the wheel's clock. It reads the monotonic clock
// only, which time.Now, reading the wall clock too, costs twice.
func (w *Wheel) now() time.Duration { return time.Since(w.base) }

// wakeAt wakes wk at the last tick within a window of now, a time on the
// wheel's clock: at most the window after now, and at least the window
// less one tick.
func (w *Wheel) wakeAt(now time.Duration, wk engine.Waker) {
	n := int64((now + w.window) / w.tick)
	w.mu.Lock()
	defer w.mu.Unlock()
	i := len(w.slots)
	for i > 0 && w.slots[i-1].n >= n {
		if w.slots[i-1].n == n {
			w.slots[i-1].wakes = append(w.slots[i-1].wakes, wk)
			return
		}
		i--
	}
	var wakes []engine.Waker
	if k := len(w.spare); k > 0 {
		wakes, w.spare = w.spare[k-1], w.spare[:k-1]
	}
	w.slots = append(w.slots, wheelSlot{})
	copy(w.slots[i+1:], w.slots[i:])
	w.slots[i] = wheelSlot{n: n, wakes: append(wakes, wk)}
	if i == 0 {
		w.arm(now)
	}
}

// arm sets the timer for the earliest pending tick; now is the time on
// the wheel's clock. w.mu must be held.
func (w *Wheel) arm(now time.Duration) {
	d := time.Duration(w.slots[0].n)*w.tick - now
	if w.timer == nil {
		w.timer = time.AfterFunc(d, w.fire)
		return
	}
	w.timer.Reset(d)
}

// fire wakes the writers of the ticks that are due and sets the timer
// for the next pending one. The wake-ups come after the lock is
// released, so that events postponed meanwhile need not wait for them.
func (w *Wheel) fire() {
	now := w.now()
	due := int64(now / w.tick)
	var buf [4][]engine.Waker
	lists := buf[:0]
	w.mu.Lock()
	k := 0
	for k < len(w.slots) && w.slots[k].n <= due {
		lists = append(lists, w.slots[k].wakes)
		k++
	}
	n := copy(w.slots, w.slots[k:])
	clear(w.slots[n:])
	w.slots = w.slots[:n]
	if n > 0 {
		w.arm(now)
	}
	w.mu.Unlock()
	for _, wakes := range lists {
		for _, wk := range wakes {
			wk.Wake()
		}
		clear(wakes) // let the subscriptions go
	}
	w.mu.Lock()
	for _, wakes := range lists {
		if len(w.spare) < maxSpareLists && cap(wakes) <= maxSpareLen {
			w.spare = append(w.spare, wakes[:0])
		}
	}
	w.mu.Unlock()
}
