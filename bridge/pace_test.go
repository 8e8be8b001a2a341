package bridge

import (
	"testing"
	"testing/synctest"
	"time"
)

func TestPaceHoldsOnlyBusyConnections(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const w = 10 * time.Millisecond
		wheel := NewWheel(w)
		start := time.Now()
		at := func(d time.Duration) time.Time { return start.Add(d) }

		var off Pace
		off.Took(at(0), 1)
		if off.Hold(at(time.Millisecond), 1) != nil {
			t.Fatal("the zero Pace held events")
		}
		if NewWheel(0) != nil || NewWheel(-1) != nil {
			t.Fatal("a wheel without a window")
		}
		if long := NewWheel(time.Hour); long.window != MaxCoalesceWindow {
			t.Fatalf("a wheel for an hour has a window of %v, want MaxCoalesceWindow", long.window)
		}

		p := NewPace(wheel)
		if p.Hold(at(0), 1) != nil {
			t.Fatal("the first events were held")
		}
		p.Took(at(0), 1)
		// One event 10 ms ago: 100 msg/s, busy.
		if p.Hold(at(w), 1) == nil {
			t.Fatal("events a window after the previous ones were not held")
		}
		p.Took(at(w), 2) // two, with the one gathered
		// Two events 20 ms ago: still 10 ms apart on average.
		if p.Hold(at(3*w), 1) == nil {
			t.Fatal("a steady pairwise stream was not held")
		}
		p.Took(at(3*w), 1)
		// One event 20 ms ago: 50 msg/s, another is not expected within
		// the window.
		if p.Hold(at(5*w), 1) != nil {
			t.Fatal("events two windows after a single one were held")
		}
		p.Took(at(5*w), 1)
		// A large batch goes out at once.
		if p.Hold(at(5*w+time.Millisecond), gatherTarget) != nil {
			t.Fatal("a batch of gatherTarget events was held")
		}
		// A replay's count does not keep a connection busy for long.
		p.Took(at(6*w), 500)
		if p.Hold(at(6*w+5*(w+w/4)), 1) != nil {
			t.Fatal("a replay kept the connection busy")
		}
	})
}

func TestWheelEndsWaitsOnSharedTicks(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const w = 32 * time.Millisecond
		const tick = w / wheelTicks
		wheel := NewWheel(w)
		start := time.Now()

		a := wheel.After(time.Now())
		time.Sleep(tick * 3 / 10)
		b := wheel.After(time.Now()) // the same tick: within one of a
		if a != b {
			t.Fatal("waits ending on the same tick got different channels")
		}
		time.Sleep(tick * 9 / 10)
		c := wheel.After(time.Now()) // the next tick
		if c == a {
			t.Fatal("a wait a tick later got the same channel")
		}
		<-a
		if d := time.Since(start); d > w || d <= w-tick {
			t.Fatalf("the first wait ended after %v, want within the last tick of the window %v", d, w)
		}
		select {
		case <-c:
			t.Fatal("a later tick ended with an earlier one")
		default:
		}
		<-c
		if d := time.Since(start); d > w+tick*12/10 || d <= w {
			t.Fatalf("the third wait ended after %v, want one tick after the first", d)
		}
		// The timer stops when nobody waits, and starts again.
		time.Sleep(time.Second)
		again := time.Now()
		<-wheel.After(again)
		if d := time.Since(again); d > w || d <= w-tick {
			t.Fatalf("a wait after a quiet second ended after %v, want within the last tick of the window", d)
		}
	})
}

func TestWheelOrdersWaitsThatRace(t *testing.T) {
	t.Parallel()
	synctest.Test(t, func(t *testing.T) {
		const w = 32 * time.Millisecond
		wheel := NewWheel(w)
		now := time.Now()
		// A wait that read the clock earlier arrives after a later one:
		// the earlier tick must still end first.
		late := wheel.After(now.Add(3 * time.Millisecond))
		early := wheel.After(now)
		<-early
		if d := time.Since(now); d > w {
			t.Fatalf("the earlier wait ended after %v, past its window %v", d, w)
		}
		select {
		case <-late:
			t.Fatal("the later tick ended with the earlier one")
		default:
		}
		<-late
		if d := time.Since(now); d > w+3*time.Millisecond {
			t.Fatalf("the later wait ended after %v", d)
		}
	})
}
