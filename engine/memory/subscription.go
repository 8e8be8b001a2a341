package memory

import (
	"context"
	"sync"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/topic"
)

// replayBatch is the most replayed events one Next call hands out, so a
// long replay reaches the writer in batches of a bounded size.
const replayBatch = 512

// liveKeepCap is the largest live-queue buffer kept after a drain; a
// larger one, left by a burst, is released so idle subscriptions stay
// small.
const liveKeepCap = 64

// subscription is the memory engine's engine.Subscription. Next must be
// called from one goroutine at a time; Close is safe to call concurrently
// with Next and more than once.
type subscription struct {
	e          *Engine
	patterns   []topic.Pattern // distinct, in the order requested
	position   engine.ID
	queueLen   int
	queueBytes int

	// Guarded by e.mu.
	members    []membership // where the subscription sits in the index
	registered bool         // in the index and e.subs
	lastSeq    uint64       // seq of the newest message offered

	// wake holds a token when the queue may have become non-empty or the
	// subscription ended. Sends never block.
	wake chan struct{}

	mu        sync.Mutex
	postponer engine.Postponer  // decides when the reader wakes for events; nil: at once
	err       error             // why the subscription ended; nil while live
	replay    []engine.Event    // gaps and replayed messages, delivered first
	live      []*engine.Message // live messages, bounded by queueLen and queueBytes
	liveBytes int               // payload bytes in live
}

var _ engine.Subscription = (*subscription)(nil)

// Position returns the engine's newest ID when the subscription started.
func (s *subscription) Position() engine.ID { return s.position }

// signal leaves a wake token unless one is already waiting.
func (s *subscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// enqueue offers a live message. It never blocks. It returns false when
// the message overflowed the queue: the subscription has then ended with
// ErrSlowConsumer and the caller must take it out of the index. Called
// with e.mu held.
func (s *subscription) enqueue(m *engine.Message) bool {
	s.mu.Lock()
	if s.err != nil {
		s.mu.Unlock()
		return true
	}
	n := len(s.live)
	if n >= s.queueLen || (n > 0 && s.liveBytes+len(m.Data) > s.queueBytes) {
		s.endLocked(engine.ErrSlowConsumer)
		s.mu.Unlock()
		return false
	}
	s.live = append(s.live, m)
	s.liveBytes += len(m.Data)
	p := s.postponer
	s.mu.Unlock()
	if n == 0 && (p == nil || !p.Postpone(s)) {
		// The queue was empty, so the reader may be waiting.
		s.signal()
	}
	return true
}

// endLocked ends the subscription with err, dropping whatever is queued.
// s.mu must be held.
func (s *subscription) endLocked(err error) {
	if s.err != nil {
		return
	}
	s.err = err
	clear(s.replay)
	s.replay = nil
	clear(s.live)
	s.live = nil
	s.liveBytes = 0
	s.signal()
}

// end ends the subscription with err unless it already ended.
func (s *subscription) end(err error) {
	s.mu.Lock()
	s.endLocked(err)
	s.mu.Unlock()
}

// Next appends the ready events to dst, blocking until there is at least
// one: first the replay (in batches of at most replayBatch), then every
// queued live message.
func (s *subscription) Next(ctx context.Context, dst []engine.Event) ([]engine.Event, error) {
	for {
		s.mu.Lock()
		if s.err != nil {
			err := s.err
			s.mu.Unlock()
			return dst, err
		}
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			return dst, err
		}
		if len(s.replay) > 0 || len(s.live) > 0 {
			dst = s.drainLocked(dst)
			s.mu.Unlock()
			return dst, nil
		}
		s.mu.Unlock()
		select {
		case <-s.wake:
		case <-ctx.Done():
			return dst, ctx.Err()
		}
	}
}

// TryNext appends the ready events to dst without waiting: the replay
// first (in batches of at most replayBatch), then every queued live
// message.
func (s *subscription) TryNext(dst []engine.Event) ([]engine.Event, error) {
	s.mu.Lock()
	err := s.err
	if err == nil && (len(s.replay) > 0 || len(s.live) > 0) {
		dst = s.drainLocked(dst)
	}
	s.mu.Unlock()
	return dst, err
}

// Ready returns the channel that gets a token when the queue may have
// become non-empty or the subscription ended.
func (s *subscription) Ready() <-chan struct{} { return s.wake }

// Wake leaves a token on the Ready channel.
func (s *subscription) Wake() { s.signal() }

// SetPostponer makes p decide when the reader wakes for live messages
// that arrive on an empty queue.
func (s *subscription) SetPostponer(p engine.Postponer) {
	s.mu.Lock()
	s.postponer = p
	s.mu.Unlock()
}

// drainLocked moves ready events to dst. Once nothing is left it takes
// the wake token, if one waits: the events that left it are handed out
// now, so a reader waiting on Ready is not woken for nothing. A message
// queued after this drain leaves a fresh token (it finds the queue
// empty, and signals after its append, hence after this). s.mu must be
// held.
func (s *subscription) drainLocked(dst []engine.Event) []engine.Event {
	if len(s.replay) > 0 {
		n := min(len(s.replay), replayBatch)
		dst = append(dst, s.replay[:n]...)
		clear(s.replay[:n]) // let delivered messages go
		s.replay = s.replay[n:]
		if len(s.replay) > 0 {
			return dst // live messages wait until the replay is done
		}
		s.replay = nil
	}
	for _, m := range s.live {
		dst = append(dst, engine.Event{Message: m})
	}
	if cap(s.live) > liveKeepCap {
		s.live = nil
	} else {
		clear(s.live)
		s.live = s.live[:0]
	}
	s.liveBytes = 0
	select {
	case <-s.wake:
	default:
	}
	return dst
}

// Close ends the subscription with ErrSubscriptionClosed (unless it already
// ended) and takes it out of the engine.
func (s *subscription) Close() {
	s.e.mu.Lock()
	s.e.unregister(s)
	s.e.mu.Unlock()
	s.end(engine.ErrSubscriptionClosed)
}
