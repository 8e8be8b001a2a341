package sse

import (
	"math"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// clock is the one heartbeat timer of a stream. When the stream has
// written nothing for the heartbeat interval (lightly jittered, so that
// streams opened together do not beat together), the clock marks itself
// woken and calls wake, which wakes the stream's goroutine where it waits
// (the subscription's Ready channel): the goroutine then writes a
// heartbeat.
//
// Traffic does not touch the timer: the stream's goroutine records the end
// of each write with one atomic store (wrote). The timer fires at the
// earliest moment a heartbeat could be due and, if traffic moved that
// moment since, re-arms itself for the remainder. A busy stream costs one
// timer firing per interval; an idle one a firing and a wake.
//
// The firings form one chain: each either re-arms the timer or wakes the
// stream, and after a wake only the stream's goroutine re-arms it
// (rearm). So at most one firing is pending or running at any time.
type clock struct {
	interval time.Duration
	base     time.Time // monotonic origin of last
	wake     func()

	last    atomic.Int64 // end of the last write, in nanoseconds since base
	due     atomic.Int64 // the current jittered interval, in nanoseconds
	fired   atomic.Bool  // a heartbeat came due; cleared by rearm
	stopped atomic.Bool
	timer   *time.Timer
}

// newClock starts a clock that calls wake when a heartbeat comes due.
func newClock(interval time.Duration, wake func()) *clock {
	c := &clock{interval: interval, base: time.Now(), wake: wake}
	c.due.Store(int64(c.jittered()))
	// Create the timer in effect disarmed, then arm it once c.timer is
	// set: fire uses c.timer.
	c.timer = time.AfterFunc(math.MaxInt64, c.fire)
	c.timer.Reset(time.Duration(c.due.Load()))
	return c
}

// jittered returns the interval shortened by up to a tenth, at random: a
// heartbeat never comes later than the interval promised to the client.
func (c *clock) jittered() time.Duration {
	spread := int64(c.interval / 10)
	if spread <= 0 {
		return c.interval
	}
	return c.interval - time.Duration(rand.Int64N(spread))
}

// woken reports whether a heartbeat came due since the last rearm.
func (c *clock) woken() bool { return c.fired.Load() }

// wrote records that a write ended at now.
func (c *clock) wrote(now time.Time) { c.last.Store(int64(now.Sub(c.base))) }

// idle is how long before now the last write ended.
func (c *clock) idle(now time.Time) time.Duration {
	return now.Sub(c.base) - time.Duration(c.last.Load())
}

// isDue reports whether a heartbeat is due at now. A wake can come early
// when a write raced the timer.
func (c *clock) isDue(now time.Time) bool { return c.idle(now) >= time.Duration(c.due.Load()) }

// rearm clears the wake and re-arms the timer with a fresh jitter. Call
// it after every wake (woken reported true), once any heartbeat has been
// written.
func (c *clock) rearm(now time.Time) {
	c.fired.Store(false)
	due := c.jittered()
	c.due.Store(int64(due))
	c.timer.Reset(due - c.idle(now))
}

// stop stops the clock. A firing that runs concurrently finds the clock
// stopped and does nothing.
func (c *clock) stop() {
	c.stopped.Store(true)
	c.timer.Stop()
}

// fire runs on the timer's goroutine.
func (c *clock) fire() {
	if c.stopped.Load() {
		return
	}
	idle := time.Since(c.base) - time.Duration(c.last.Load())
	if due := time.Duration(c.due.Load()); idle < due {
		c.timer.Reset(due - idle)
		return
	}
	c.fired.Store(true)
	c.wake()
}
