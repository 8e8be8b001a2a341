package ws

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"time"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/internal/rawconn"
)

// writeLoop is the connection's writer, the only goroutine that writes to
// it. It waits for events of the subscription and for signals (the timer,
// client frames, the end), gathers every frame that is ready into one
// batch and writes the batch with one vectored write. When the connection
// ends it closes it and cleans up.
//
// The loop itself is kept small, with the work in the methods it calls:
// the writer waits in Next, called right here, so that an idle writer's
// stack is shallow; after its first write and after every Ping the loop
// goes on as a new goroutine, so that the stack is also small (see
// conn.renew).
func (c *conn) writeLoop() {
	c.begin()
	c.writeOn()
}

// writeOn is writeLoop's loop. After the first write and every Ping it
// goes on as a new goroutine (see conn.renew) and this one returns.
func (c *conn) writeOn() {
	for c.serve() {
		if c.renew {
			c.renew = false
			go c.writeOn()
			return
		}
		c.next()
	}
	c.teardown()
}

// next takes the events that are ready and writes them, or, when there
// are none, waits for some or for a signal, on one channel: signals wake
// the writer through its subscription's Ready channel (see signal). A
// signal is left for serve.
func (c *conn) next() {
	if c.sub == nil {
		if !c.pending() {
			<-c.wake // every signal since leaves a token
		}
		return
	}
	evs, err := c.sub.TryNext(c.evs[:0])
	if len(evs) == 0 && err == nil {
		c.evs = evs
		if !c.pending() {
			<-c.sub.Ready()
		}
		return
	}
	c.received(evs, err)
}

// begin starts the keepalive schedule and its timer, and confirms the
// handshake's subscription.
func (c *conn) begin() {
	now := time.Now()
	c.nextPing = now.Add(c.interval)
	c.lastData = now
	// The timer starts with the schedule and from the same clock reading:
	// the runtime reads the clock again, so the timer fires at armedAt or
	// just after, never before.
	c.timer = time.AfterFunc(c.interval, func() { c.signal(sigTimer) })
	c.armedAt = c.nextPing
	// The confirmation is written on this goroutine's stack: go on with
	// a fresh one once it is out.
	c.renew = true
	if c.sub != nil {
		c.h.met.Subscriptions.Inc()
		c.batch().subscribed(c.topics, c.sub.Subscribed().CurrentID, c.interval)
	}
}

// serve handles the pending signals (client frames, the timer) and writes
// what they produced. It returns false when the connection ends.
func (c *conn) serve() bool {
	sig, ended := c.take()
	if ended {
		return false
	}
	if sig&sigInbox != 0 && !c.serveInbox() {
		return false
	}
	if sig&sigTimer != 0 {
		c.keepalive(time.Now())
	}
	return c.b == nil || c.flush(time.Now())
}

// received handles what the subscription handed out: it writes the
// events, and ends the connection if the subscription ended. Once the
// connection has been told to end (its credential expired, Shutdown), no
// event is written: serve then ends it with its close frame.
func (c *conn) received(evs []engine.Event, err error) {
	c.evs = evs
	if c.ending() {
		clear(c.evs)
		c.evs = c.evs[:0]
		return
	}
	if len(c.evs) > 0 {
		now := time.Now()
		c.pace.Took(now, len(c.evs))
		b := c.batch()
		for _, ev := range c.evs {
			switch {
			case ev.Message != nil:
				b.message(ev.Message)
			case ev.Gap != nil:
				b.gap(ev.Gap)
			}
		}
		if !c.flush(now) {
			return
		}
	}
	if err != nil {
		c.subscriptionEnded(err)
	}
}

// subscriptionEnded ends the connection for the error that ended its
// subscription.
func (c *conn) subscriptionEnded(err error) {
	switch {
	case errors.Is(err, engine.ErrSlowConsumer):
		c.h.met.SlowConsumers.Inc()
		c.end(discSlowQueue)
	case errors.Is(err, engine.ErrClosed):
		c.end(discSourceClosed)
	default:
		c.h.log.LogAttrs(context.Background(), slog.LevelError, "websocket subscription failed",
			slog.String("remote", c.remote), slog.String("error", err.Error()))
		c.end(discInternal)
	}
}

// keepalive handles a firing of the timer at now: it queues the Ping and
// the heartbeat frame that are due and sets the timer for the next one.
// Pings go out every interval; a heartbeat only when nothing browser code
// sees was written for an interval.
func (c *conn) keepalive(now time.Time) {
	// The timer fired: whatever time it was set to, it is no longer
	// pending, and must be set again even if nothing was due yet.
	c.armedAt = time.Time{}
	if !now.Before(c.nextPing) {
		c.batch().control(finPing, nil)
		c.nextPing = now.Add(c.interval)
		c.renew = true
	}
	heartbeatDue := c.lastData.Add(c.interval)
	if !now.Before(heartbeatDue) {
		c.batch().heartbeat(now)
		heartbeatDue = now.Add(c.interval)
	}
	c.armAt(now, minTime(c.nextPing, heartbeatDue))
}

// minTime returns the earlier of a and b.
func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// armAt makes sure the timer fires by at. A timer already set to fire by
// then is left alone (its firing re-arms it), so traffic does not reset
// the timer on every write.
//
// Whether the timer is still set is what armedAt says, not a comparison
// with the clock: keepalive zeroes armedAt when the timer fires, and while
// it is not zero a firing is on its way (the timer is pending, or its
// signal is). The clock cannot tell: armedAt comes from a clock reading
// other than the runtime's, so a firing may be handled before the time it
// records, and taking that for a timer still set would leave the timer
// unset for good.
func (c *conn) armAt(now, at time.Time) {
	if !c.armedAt.IsZero() && !c.armedAt.After(at) {
		return
	}
	c.timer.Reset(max(at.Sub(now), 0))
	c.armedAt = at
}

// batch returns the batch being gathered, taking one from the pool when
// there is none.
func (c *conn) batch() *batch {
	if c.b == nil {
		c.b = c.h.batches.Get().(*batch)
	}
	return c.b
}

// releaseBatch returns the batch to the pool.
func (c *conn) releaseBatch() {
	if c.b != nil {
		c.b.reset()
		c.h.batches.Put(c.b)
		c.b = nil
	}
}

// flush writes the batch, made at now, with one vectored write under the
// write deadline (a batch over maxWriteBytes or maxWriteFrames with one
// write per part), then counts the messages in c.evs as delivered and
// moves the connection's position to the last one. On failure it ends the
// connection and returns false.
func (c *conn) flush(now time.Time) bool {
	b := c.b
	c.renewWriteDeadline(now)
	for vec := b.vec; len(vec) > 0; {
		n, size := 0, 0
		for n < len(vec) && n < maxWriteFrames && (n == 0 || size+len(vec[n]) <= maxWriteBytes) {
			size += len(vec[n])
			n++
		}
		// A field rather than a local: WriteBuffers's argument would make
		// a local escape, an allocation per write.
		c.bufs = vec[:n]
		_, err := rawconn.WriteBuffers(c.raw, &c.bufs)
		rest := c.bufs
		c.bufs = nil
		if err != nil {
			c.writeFailed(err, rest)
			return false
		}
		if vec = vec[n:]; len(vec) > 0 {
			c.renewWriteDeadline(time.Now())
		}
	}
	if b.data {
		c.lastData = now
	}
	for i := range c.evs {
		if m := c.evs[i].Message; m != nil {
			c.h.met.ObserveDelivery(m.Time, now)
			c.last = m.ID
		}
	}
	clear(c.evs)
	c.evs = c.evs[:0]
	if cap(c.evs) > keepEvents {
		c.evs = nil
	}
	c.releaseBatch()
	return true
}

// renewWriteDeadline makes sure the next write has at least half the
// write timeout: the deadline is moved to now plus the write timeout only
// when less than half of it is left, which spares most writes the cost of
// re-arming the runtime's deadline timer.
func (c *conn) renewWriteDeadline(now time.Time) {
	wt := c.h.cfg.WriteTimeout
	if c.writeDeadline.Sub(now) >= wt/2 {
		return
	}
	c.writeDeadline = now.Add(wt)
	_ = c.raw.SetWriteDeadline(c.writeDeadline)
}

// writeFailed ends the connection after a failed write; rest is what was
// not written. A write that timed out is a slow consumer: the rest of the
// frame it cut off is kept, so the close frame can still follow a whole
// frame. Any other failure means the connection is gone.
func (c *conn) writeFailed(err error, rest net.Buffers) {
	if errors.Is(err, os.ErrDeadlineExceeded) && !c.ending() {
		if len(rest) > 0 {
			c.tail = bytes.Clone(rest[0])
		}
		c.releaseBatch()
		c.h.met.SlowConsumers.Inc()
		c.end(discSlowWrite)
		return
	}
	c.releaseBatch()
	c.broken = true
	c.end(discGone)
}

// serveInbox answers the client frames waiting in the inbox. It returns
// false when one of them ended the connection.
func (c *conn) serveInbox() bool {
	for {
		select {
		case r := <-c.inbox:
			if !c.handle(r) {
				return false
			}
		default:
			return true
		}
	}
}

// handle answers one client frame. It returns false when the connection
// ends.
func (c *conn) handle(r *request) bool {
	switch r.kind {
	case reqControlPong:
		c.batch().control(finPong, r.payload)
	case reqPing:
		c.batch().pong(r.id)
	case reqInvalid:
		return c.malformed(r.code, r.message, r.id)
	case reqSubscribe:
		return c.subscribe(r)
	case reqUnsubscribe:
		return c.unsubscribe(r)
	case reqAuth:
		return c.authenticate(r)
	}
	return true
}

// malformed answers a malformed frame with an error frame, and ends the
// connection when the client sent maxStrikes of them within strikeWindow.
func (c *conn) malformed(code, message string, id []byte) bool {
	c.h.met.Refuse(code)
	c.batch().errorFrame(code, message, id)
	return c.strike(discMalformed)
}

// strike counts a malformed or refused frame, and ends the connection
// for d when it is the maxStrikes-th within strikeWindow. It returns false
// when the connection ends.
func (c *conn) strike(d disconnect) bool {
	now := time.Now()
	if c.strikes == 0 || now.Sub(c.strikeStart) > strikeWindow {
		c.strikes, c.strikeStart = 0, now
	}
	c.strikes++
	if c.strikes >= maxStrikes {
		c.end(d)
		return false
	}
	return true
}
