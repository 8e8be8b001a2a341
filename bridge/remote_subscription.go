package bridge

import (
	"context"
	"errors"
	"log/slog"
	"math"
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
	eventQueue // mu also guards closedByMe

	src        *remoteSource
	subscribed Subscribed
	cancel     context.CancelCauseFunc // ends the upstream stream
	done       chan struct{}           // closed when the reader has returned
	watch      *watchdog               // nil when disabled
	// replayEnd is the upstream position at subscribe time when the
	// request resumed: messages of its epoch up to it are replayed
	// history, which the queue bounds do not count. Zero otherwise.
	replayEnd engine.ID

	closedByMe bool // Close was called
}

var _ Subscription = (*remoteSubscription)(nil)

// Subscribed returns the upstream's confirmation.
func (s *remoteSubscription) Subscribed() Subscribed { return s.subscribed }

// Close ends the upstream stream, drops what is queued and waits for the
// reader to return.
func (s *remoteSubscription) Close() {
	s.mu.Lock()
	s.closedByMe = true
	s.dropLocked(engine.ErrSubscriptionClosed)
	s.mu.Unlock()
	s.cancel(engine.ErrSubscriptionClosed)
	<-s.done
}

// push queues ev for the reader. It reports false when the subscription
// has ended, by an overflow of the queue or otherwise.
func (s *remoteSubscription) push(ev engine.Event) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pushLocked(ev, ev.Message != nil && !s.replayed(ev.Message.ID))
}

// replayed reports whether the message with id is history replayed at
// subscribe time rather than a live message.
func (s *remoteSubscription) replayed(id engine.ID) bool {
	return !s.replayEnd.IsZero() && id.Epoch == s.replayEnd.Epoch && id.Seq <= s.replayEnd.Seq
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
