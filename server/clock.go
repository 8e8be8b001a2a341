package server

import (
	"context"
	"math"
	"sync/atomic"
	"time"
)

// streamClock is the one timer of a Subscribe stream. It does two jobs:
//
//   - Heartbeat: when the stream has sent nothing for the heartbeat
//     interval while it waits for events, it cancels the wait context, so
//     that Subscription.Next returns and the stream's goroutine sends a
//     heartbeat frame.
//   - Write deadline: when one send has been in progress for the write
//     timeout, it aborts the stream with errWriteStalled.
//
// Traffic does not touch the timer. The stream's goroutine only records,
// with one atomic store, when its last send began or ended (mark); the
// timer fires at the earliest moment a deadline could have passed and, if
// traffic moved the deadline since, re-arms itself for the remainder. While
// no send is in progress it fires at least every write timeout, so that a
// send that begins meanwhile is caught exactly at its deadline. With the
// default write timeout (the heartbeat interval) a busy stream costs one
// timer firing per interval, and an idle one one firing and one wake.
//
// The timer's firings form one chain: each either re-arms the timer or
// acts (cancels the wait or aborts), never both, and after a wake only the
// stream's goroutine re-arms it (rearm). So at most one firing is pending or
// running at any time and the wait context is replaced only while none is.
type streamClock struct {
	heartbeat    time.Duration
	writeTimeout time.Duration
	base         time.Time // monotonic origin of the marks
	parent       context.Context
	abort        func(cause error)

	// mark is the time of the last send's start or end, in nanoseconds
	// since base, shifted left once; the low bit is set while a send is in
	// progress.
	mark    atomic.Int64
	wait    atomic.Pointer[waiter]
	stopped atomic.Bool
	timer   *time.Timer
}

// waiter is the context Subscription.Next waits on. The clock cancels it to
// wake the stream for a heartbeat; it is replaced after every wake.
type waiter struct {
	ctx    context.Context
	cancel context.CancelFunc
}

// newStreamClock starts a clock for a stream whose context is parent.
// abort must end the stream with the given cause and unblock its sends.
func newStreamClock(parent context.Context, heartbeat, writeTimeout time.Duration, abort func(error)) *streamClock {
	c := &streamClock{
		heartbeat:    heartbeat,
		writeTimeout: writeTimeout,
		base:         time.Now(),
		parent:       parent,
		abort:        abort,
	}
	c.newWait()
	// Create the timer disarmed in effect, then arm it once c.timer is
	// set: fire uses c.timer.
	c.timer = time.AfterFunc(math.MaxInt64, c.fire)
	c.timer.Reset(c.next(heartbeat))
	return c
}

func (c *streamClock) newWait() {
	ctx, cancel := context.WithCancel(c.parent)
	c.wait.Store(&waiter{ctx: ctx, cancel: cancel})
}

// waitContext is the context to pass to Subscription.Next.
func (c *streamClock) waitContext() context.Context { return c.wait.Load().ctx }

// woken reports whether the clock cancelled the current wait.
func (c *streamClock) woken() bool { return c.wait.Load().ctx.Err() != nil }

// sending records that a send begins at now.
func (c *streamClock) sending(now time.Time) { c.mark.Store(int64(now.Sub(c.base))<<1 | 1) }

// sent records that the last send ended at now.
func (c *streamClock) sent(now time.Time) { c.mark.Store(int64(now.Sub(c.base)) << 1) }

// idle is how long before now the last send ended or began.
func (c *streamClock) idle(now time.Time) time.Duration {
	return now.Sub(c.base) - time.Duration(c.mark.Load()>>1)
}

// due reports whether a heartbeat is due at now: nothing was sent for the
// heartbeat interval. A wake can be early when a send raced the timer.
func (c *streamClock) due(now time.Time) bool { return c.idle(now) >= c.heartbeat }

// rearm replaces the cancelled wait and re-arms the timer. Call it after
// every wake (woken reported true), once any heartbeat has been sent.
func (c *streamClock) rearm(now time.Time) {
	c.newWait()
	c.timer.Reset(c.next(c.heartbeat - c.idle(now)))
}

// next is when the timer should fire while no send is in progress and the
// heartbeat is due in d: then, or after the write timeout if that is
// sooner, so that a send that begins meanwhile is checked in time.
func (c *streamClock) next(d time.Duration) time.Duration { return min(d, c.writeTimeout) }

// stop stops the clock and releases the wait context. A firing that runs
// concurrently finds the clock stopped and does nothing.
func (c *streamClock) stop() {
	c.stopped.Store(true)
	c.timer.Stop()
	c.wait.Load().cancel()
}

// fire runs on the timer's goroutine.
func (c *streamClock) fire() {
	if c.stopped.Load() {
		return
	}
	m := c.mark.Load()
	elapsed := time.Since(c.base) - time.Duration(m>>1)
	switch inSend := m&1 == 1; {
	case inSend && elapsed < c.writeTimeout:
		c.timer.Reset(c.writeTimeout - elapsed)
	case inSend:
		c.abort(errWriteStalled)
	case elapsed < c.heartbeat:
		c.timer.Reset(c.next(c.heartbeat - elapsed))
	default:
		c.wait.Load().cancel()
	}
}
