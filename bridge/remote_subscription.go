package bridge

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	"github.com/heraldhq/herald/engine"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// errUpstreamSilent is the cause with which a watchdog ends an upstream
// stream that sent nothing, not even a heartbeat, for too long.
var errUpstreamSilent = errors.New("bridge: upstream stream silent past its timeout")

// remoteSubscription is a Subscription over one upstream stream. Its
// reader goroutine moves events from the stream into a bounded queue; Next
// takes them out. Next is called by one goroutine at a time; Close is safe
// to call concurrently and more than once.
type remoteSubscription struct {
	src        *remoteSource
	subscribed Subscribed
	cancel     context.CancelCauseFunc // ends the upstream stream
	done       chan struct{}           // closed when the reader has returned
	watch      *watchdog               // nil when disabled
	// replayEnd is the upstream position at subscribe time when the
	// request resumed: messages of its epoch up to it are replayed
	// history, which the queue bounds do not count. Zero otherwise.
	replayEnd engine.ID

	// wake holds a token when the queue may have become non-empty or the
	// subscription ended. Sends never block.
	wake chan struct{}

	mu         sync.Mutex
	err        error          // why the subscription ended; nil while live
	queue      []engine.Event // events for the reader, oldest first
	liveCount  int            // live messages in queue
	liveBytes  int            // their payload bytes
	closedByMe bool           // Close was called
}

var _ Subscription = (*remoteSubscription)(nil)

// Subscribed returns the upstream's confirmation.
func (s *remoteSubscription) Subscribed() Subscribed { return s.subscribed }

// signal leaves a wake token unless one is already waiting.
func (s *remoteSubscription) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Next appends the queued events to dst, blocking until there is at least
// one. Events received before the upstream stream failed are handed out
// before its error; after a queue overflow they are dropped. As the
// engine's subscriptions do, it hands out nothing once ctx has ended: it
// returns ctx's error and leaves the queue for the next call, unless the
// subscription has ended with nothing queued, when it returns why.
func (s *remoteSubscription) Next(ctx context.Context, dst []engine.Event) ([]engine.Event, error) {
	for {
		s.mu.Lock()
		if len(s.queue) == 0 && s.err != nil {
			err := s.err
			s.mu.Unlock()
			return dst, err
		}
		if err := ctx.Err(); err != nil {
			s.mu.Unlock()
			return dst, err
		}
		if len(s.queue) > 0 {
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

// TryNext appends the queued events to dst without waiting. Events
// received before the upstream stream failed are handed out before its
// error.
func (s *remoteSubscription) TryNext(dst []engine.Event) ([]engine.Event, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.queue) > 0 {
		return s.drainLocked(dst), nil
	}
	return dst, s.err
}

// Ready returns the channel that gets a token when the queue may have
// become non-empty or the subscription ended.
func (s *remoteSubscription) Ready() <-chan struct{} { return s.wake }

// Wake leaves a token on the Ready channel.
func (s *remoteSubscription) Wake() { s.signal() }

// drainLocked moves the queued events to dst and takes the wake token,
// if one waits: what left it is handed out now (see the memory engine's
// subscription, which does the same). s.mu must be held.
func (s *remoteSubscription) drainLocked(dst []engine.Event) []engine.Event {
	dst = append(dst, s.queue...)
	clear(s.queue)
	if cap(s.queue) > maxKeptQueue {
		s.queue = nil
	} else {
		s.queue = s.queue[:0]
	}
	s.liveCount, s.liveBytes = 0, 0
	select {
	case <-s.wake:
	default:
	}
	return dst
}

// maxKeptQueue is the largest queue buffer kept after a drain; a larger
// one, left by a burst or a replay, is released so idle subscriptions stay
// small.
const maxKeptQueue = 64

// Close ends the upstream stream, drops what is queued and waits for the
// reader to return.
func (s *remoteSubscription) Close() {
	s.mu.Lock()
	s.closedByMe = true
	s.endLocked(engine.ErrSubscriptionClosed)
	clear(s.queue)
	s.queue = nil
	s.mu.Unlock()
	s.cancel(engine.ErrSubscriptionClosed)
	<-s.done
}

// push queues ev for the reader. It reports false when the subscription
// has ended, by an overflow of the queue or otherwise.
func (s *remoteSubscription) push(ev engine.Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return false
	}
	if m := ev.Message; m != nil && !s.replayed(m.ID) {
		if s.liveCount >= s.src.cfg.QueueLen ||
			(s.liveCount > 0 && s.liveBytes+len(m.Data) > s.src.cfg.QueueBytes) {
			clear(s.queue)
			s.queue = nil
			s.liveCount, s.liveBytes = 0, 0
			s.endLocked(engine.ErrSlowConsumer)
			return false
		}
		s.liveCount++
		s.liveBytes += len(m.Data)
	}
	s.queue = append(s.queue, ev)
	if len(s.queue) == 1 {
		s.signal()
	}
	return true
}

// replayed reports whether the message with id is history replayed at
// subscribe time rather than a live message.
func (s *remoteSubscription) replayed(id engine.ID) bool {
	return !s.replayEnd.IsZero() && id.Epoch == s.replayEnd.Epoch && id.Seq <= s.replayEnd.Seq
}

// endLocked ends the subscription with err unless it already ended. s.mu
// must be held.
func (s *remoteSubscription) endLocked(err error) {
	if s.err == nil {
		s.err = err
		s.signal()
	}
}

// read is the reader goroutine: it receives upstream frames until the
// stream fails or the subscription ends, and ends the subscription with
// the reason.
func (s *remoteSubscription) read(ctx context.Context, stream interface {
	Recv() (*heraldv1.SubscribeResponse, error)
}) {
	defer close(s.done)
	if s.watch != nil {
		defer s.watch.stop()
	}
	for {
		resp, err := stream.Recv()
		if err != nil {
			s.fail(ctx, streamEnd(ctx, err))
			return
		}
		if s.watch != nil {
			s.watch.touch()
		}
		ev, ok, err := s.src.frameEvent(resp)
		if err != nil {
			s.src.cfg.Logger.LogAttrs(ctx, slog.LevelWarn, "upstream protocol error; ending the subscription",
				slog.String("err", err.Error()))
			s.fail(ctx, errors.Join(engine.ErrClosed, err))
			return
		}
		if ok && !s.push(ev) {
			s.cancel(context.Canceled)
			return
		}
	}
}

// fail ends the subscription with err and the upstream stream with it.
func (s *remoteSubscription) fail(ctx context.Context, err error) {
	s.mu.Lock()
	s.endLocked(err)
	mine := s.closedByMe
	s.mu.Unlock()
	s.cancel(err)
	if !mine {
		s.src.cfg.Logger.LogAttrs(ctx, slog.LevelDebug, "upstream subscription ended", slog.String("err", err.Error()))
	}
}

// watchdog ends a stream that stays silent for its timeout. Traffic only
// records the time with one atomic store (touch); the timer fires at the
// earliest moment the timeout could have passed and, if traffic came
// since, re-arms itself for the remainder, so a busy stream costs one
// firing per timeout.
type watchdog struct {
	timeout time.Duration
	base    time.Time    // monotonic origin of last
	last    atomic.Int64 // nanoseconds since base of the last frame
	timer   *time.Timer
	expire  func()
	stopped atomic.Bool
}

// newWatchdog starts a watchdog that calls expire once nothing was
// touched for timeout.
func newWatchdog(timeout time.Duration, expire func()) *watchdog {
	w := &watchdog{timeout: timeout, base: time.Now(), expire: expire}
	// Create the timer in effect disarmed and arm it once w.timer is set:
	// fire uses it.
	w.timer = time.AfterFunc(math.MaxInt64, w.fire)
	w.timer.Reset(timeout)
	return w
}

// touch records traffic.
func (w *watchdog) touch() { w.last.Store(int64(time.Since(w.base))) }

// stop stops the watchdog. A firing that runs concurrently finds it
// stopped and does nothing.
func (w *watchdog) stop() {
	w.stopped.Store(true)
	w.timer.Stop()
}

func (w *watchdog) fire() {
	if w.stopped.Load() {
		return
	}
	silent := time.Since(w.base) - time.Duration(w.last.Load())
	if silent < w.timeout {
		w.timer.Reset(w.timeout - silent)
		return
	}
	w.expire()
}
