package bridge

import (
	"context"
	"sync"

	"github.com/heraldhq/herald/engine"
)

// eventQueue is the bounded queue between the goroutine that receives a
// subscription's events and the subscription's reader, with the reading
// half of the Subscription contract (Next, TryNext, Ready, Wake). Live
// messages count against its bounds; replayed history does not, as with
// the engine. The one that overflows the bounds ends the queue with
// engine.ErrSlowConsumer.
type eventQueue struct {
	maxLen   int // live messages
	maxBytes int // their payload bytes

	// wake holds a token when the queue may have become non-empty or
	// ended. Sends never block.
	wake chan struct{}

	mu        sync.Mutex
	postponer engine.Postponer // decides when the reader wakes for events; nil: at once
	err       error            // why the queue ended; nil while live
	queue     []engine.Event   // events for the reader, oldest first
	liveCount int              // live messages in queue
	liveBytes int              // their payload bytes
}

// init readies q with its bounds.
func (q *eventQueue) init(maxLen, maxBytes int) {
	q.maxLen, q.maxBytes = maxLen, maxBytes
	q.wake = make(chan struct{}, 1)
}

// signal leaves a wake token unless one is already waiting.
func (q *eventQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// Next appends the queued events to dst, blocking until there is at least
// one. Events queued before the queue ended are handed out before its
// error; after an overflow they are dropped. As the engine's
// subscriptions do, it hands out nothing once ctx has ended: it returns
// ctx's error and leaves the queue for the next call, unless the queue
// has ended with nothing in it, when it returns why.
func (q *eventQueue) Next(ctx context.Context, dst []engine.Event) ([]engine.Event, error) {
	for {
		q.mu.Lock()
		if len(q.queue) == 0 && q.err != nil {
			err := q.err
			q.mu.Unlock()
			return dst, err
		}
		if err := ctx.Err(); err != nil {
			q.mu.Unlock()
			return dst, err
		}
		if len(q.queue) > 0 {
			dst = q.drainLocked(dst)
			q.mu.Unlock()
			return dst, nil
		}
		q.mu.Unlock()
		select {
		case <-q.wake:
		case <-ctx.Done():
			return dst, ctx.Err()
		}
	}
}

// TryNext appends the queued events to dst without waiting. Events
// queued before the queue ended are handed out before its error.
func (q *eventQueue) TryNext(dst []engine.Event) ([]engine.Event, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if len(q.queue) > 0 {
		return q.drainLocked(dst), nil
	}
	return dst, q.err
}

// Ready returns the channel that gets a token when the queue may have
// become non-empty or ended.
func (q *eventQueue) Ready() <-chan struct{} { return q.wake }

// Wake leaves a token on the Ready channel.
func (q *eventQueue) Wake() { q.signal() }

// SetPostponer makes p decide when the reader wakes for events that
// arrive on an empty queue.
func (q *eventQueue) SetPostponer(p engine.Postponer) {
	q.mu.Lock()
	q.postponer = p
	q.mu.Unlock()
}

// drainLocked moves the queued events to dst and takes the wake token,
// if one waits: what left it is handed out now (see the memory engine's
// subscription, which does the same). q.mu must be held.
func (q *eventQueue) drainLocked(dst []engine.Event) []engine.Event {
	dst = append(dst, q.queue...)
	clear(q.queue)
	if cap(q.queue) > maxKeptQueue {
		q.queue = nil
	} else {
		q.queue = q.queue[:0]
	}
	q.liveCount, q.liveBytes = 0, 0
	select {
	case <-q.wake:
	default:
	}
	return dst
}

// maxKeptQueue is the largest queue buffer kept after a drain; a larger
// one, left by a burst or a replay, is released so idle subscriptions stay
// small.
const maxKeptQueue = 64

// pushLocked queues ev for the reader; live says whether a message in it
// counts against the bounds. It reports false when the queue has ended,
// by this overflow or before. q.mu must be held.
func (q *eventQueue) pushLocked(ev engine.Event, live bool) bool {
	if q.err != nil {
		return false
	}
	if m := ev.Message; m != nil && live {
		if q.liveCount >= q.maxLen || (q.liveCount > 0 && q.liveBytes+len(m.Data) > q.maxBytes) {
			q.dropLocked(engine.ErrSlowConsumer)
			return false
		}
		q.liveCount++
		q.liveBytes += len(m.Data)
	}
	q.queue = append(q.queue, ev)
	if len(q.queue) == 1 && (q.postponer == nil || !q.postponer.Postpone(q)) {
		q.signal()
	}
	return true
}

// endLocked ends the queue with err unless it already ended; what is
// queued is still handed out. q.mu must be held.
func (q *eventQueue) endLocked(err error) {
	if q.err == nil {
		q.err = err
		q.signal()
	}
}

// dropLocked ends the queue with err unless it already ended, and drops
// what is queued. q.mu must be held.
func (q *eventQueue) dropLocked(err error) {
	clear(q.queue)
	q.queue = nil
	q.liveCount, q.liveBytes = 0, 0
	q.endLocked(err)
}
