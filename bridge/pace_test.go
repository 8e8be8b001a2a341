package bridge

import (
	"testing"
	"testing/synctest"
	"time"
)

// wakeLog is an engine.Waker that records when it was woken.
type wakeLog chan time.Time

func (l wakeLog) Wake() { l <- time.Now() }

// next returns when l was next woken, failing if it is not within d.
func (l wakeLog) next(t *testing.T, d time.Duration) time.Time {
	t.Helper()
	select {
	case at := <-l:
		return at
	case <-time.After(d):
		t.Fatalf("no wake-up within %v", d)
		return time.Time{}
	}
}

// none fails if l was woken.
func (l wakeLog) none(t *testing.T) {
	t.Helper()
	select {
	case at := <-l:
		t.Fatalf("woken at %v, want no wake-up", at)
	default:
	}
}

func TestPacePostponesOnlyBusyConnections(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const w = 10 * time.Millisecond
		const tick = w / wheelTicks
		wheel := NewWheel(w)
		wakes := make(wakeLog, 4)

		var off Pace
		off.Took(time.Now(), 1)
		if off.Postpone(wakes) {
			t.Fatal("the zero Pace postponed a wake-up")
		}
		if NewWheel(0) != nil || NewWheel(-1) != nil {
			t.Fatal("a wheel without a window")
		}
		if long := NewWheel(time.Hour); long.window != MaxCoalesceWindow {
			t.Fatalf("a wheel for an hour has a window of %v, want MaxCoalesceWindow", long.window)
		}

		// postponed checks that an event arriving now is held for the
		// window, less at most a tick, and returns when the writer wakes.
		postponed := func(p *Pace, what string) time.Time {
			t.Helper()
			at := time.Now()
			if !p.Postpone(wakes) {
				t.Fatalf("%s: not postponed", what)
			}
			woke := wakes.next(t, time.Second)
			if d := woke.Sub(at); d > w || d <= w-tick {
				t.Fatalf("%s: woken after %v, want within the last tick of the window %v", what, d, w)
			}
			return woke
		}
		p := NewPace(wheel)
		if p.Postpone(wakes) {
			t.Fatal("the first events were postponed")
		}
		p.Took(time.Now(), 1)
		// One event 10 ms ago: 100 msg/s, busy.
		time.Sleep(w)
		p.Took(postponed(&p, "events a window after the previous ones"), 2)
		// Two events 20 ms ago: still 10 ms apart on average.
		time.Sleep(2 * w)
		p.Took(postponed(&p, "a steady pairwise stream"), 1)
		// One event 20 ms ago: 50 msg/s, another is not expected within
		// the window.
		time.Sleep(2 * w)
		if p.Postpone(wakes) {
			t.Fatal("events two windows after a single one were postponed")
		}
		// A replay's count does not keep a connection busy for long.
		p.Took(time.Now(), 500)
		time.Sleep(5 * (w + w/4))
		if p.Postpone(wakes) {
			t.Fatal("a replay kept the connection busy")
		}
		synctest.Wait()
		wakes.none(t)
	})
}

func TestWheelWakesOnSharedTicks(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const w = 32 * time.Millisecond
		const tick = w / wheelTicks
		wheel := NewWheel(w)
		a, b, c := make(wakeLog, 1), make(wakeLog, 1), make(wakeLog, 1)
		start := time.Now()

		wheel.wakeAt(wheel.now(), a)
		time.Sleep(tick * 3 / 10)
		wheel.wakeAt(wheel.now(), b) // the same tick: within one of a
		time.Sleep(tick * 9 / 10)
		wheel.wakeAt(wheel.now(), c) // the next tick
		wa, wb := a.next(t, time.Second), b.next(t, time.Second)
		if wa != wb {
			t.Fatalf("wake-ups due on the same tick came at %v and %v", wa, wb)
		}
		if d := wa.Sub(start); d > w || d <= w-tick {
			t.Fatalf("the first wake-up came after %v, want within the last tick of the window %v", d, w)
		}
		c.none(t)
		if d := c.next(t, time.Second).Sub(start); d > w+tick*12/10 || d <= w {
			t.Fatalf("the third wake-up came after %v, want one tick after the first", d)
		}
		// The timer stops when nothing is pending, and starts again.
		time.Sleep(time.Second)
		again := time.Now()
		wheel.wakeAt(wheel.clock(again), a)
		if d := a.next(t, time.Second).Sub(again); d > w || d <= w-tick {
			t.Fatalf("a wake-up after a quiet second came after %v, want within the last tick of the window", d)
		}
		// The wake lists kept for reuse hold no subscription.
		synctest.Wait()
		wheel.mu.Lock()
		defer wheel.mu.Unlock()
		if len(wheel.spare) == 0 {
			t.Fatal("no wake list kept for reuse")
		}
		for _, l := range wheel.spare {
			for _, wk := range l[:cap(l)] {
				if wk != nil {
					t.Fatal("a wake list kept for reuse still holds a subscription")
				}
			}
		}
	})
}

func TestWheelOrdersWakeupsThatRace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const w = 32 * time.Millisecond
		wheel := NewWheel(w)
		late, early := make(wakeLog, 1), make(wakeLog, 1)
		now := time.Now()
		// A postponement that read the clock earlier arrives after a
		// later one: the earlier tick must still come first.
		wheel.wakeAt(wheel.clock(now.Add(3*time.Millisecond)), late)
		wheel.wakeAt(wheel.clock(now), early)
		if d := early.next(t, time.Second).Sub(now); d > w {
			t.Fatalf("the earlier wake-up came after %v, past its window %v", d, w)
		}
		late.none(t)
		if d := late.next(t, time.Second).Sub(now); d > w+3*time.Millisecond {
			t.Fatalf("the later wake-up came after %v", d)
		}
	})
}
