package sse

import (
	"context"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/internal/refusal"
)

// maxKeptEvents is the largest event buffer a stream keeps between
// batches; a larger one, left by a replay, is dropped for the garbage
// collector, so idle streams stay small.
const maxKeptEvents = 256

// stream is one running Server-Sent Events response. All its methods run
// on the handler's goroutine, the response's only writer.
type stream struct {
	h      *Handler
	w      http.ResponseWriter
	rc     *http.ResponseController
	r      *http.Request
	ctx    context.Context // the request's, ended with errGoingAway by Shutdown and errTokenExpired at the credential's expiry
	sub    bridge.Subscription
	p      params
	clock  *clock
	log    *slog.Logger
	events []engine.Event
	remote string // the client's address, for the logs

	// stopWake stops the wake of the goroutine at the context's end.
	stopWake func() bool

	// hc is the connection of a stream that took its HTTP/1.1 connection
	// over (see conn.go); w, rc and r are nil then.
	hc *hijacked

	// The output of the current batch (see write.go).
	buf     []byte            // frames not yet written, after room bytes kept for a chunk's size line
	room    int               // see buf and emptyBuffer
	batch   []*engine.Message // the messages of the batch, for the metrics
	pending bool              // written since the last flush
	takenAt time.Time         // when the batch's events were taken; zero when none were
	noWDL   bool              // the ResponseWriter has no write deadlines

	writeDeadline time.Time // the last write deadline set

	// failed is set once a write failed: the client is gone or stalled.
	failed bool

	// pace is the coalescing window, the subscription's Postponer.
	pace bridge.Pace

	// renew asks a hijacked stream to go on as a new goroutine: writes
	// grow a goroutine's stack, and the garbage collector does not shrink
	// it back to the minimum the wait for events needs, so a stream that
	// goes idle would keep the grown stack for good. A new goroutine
	// starts small. Set after each heartbeat, which an idle stream writes
	// and a busy one does not.
	renew bool
}

func newStream(h *Handler, w http.ResponseWriter, r *http.Request, ctx context.Context, sub bridge.Subscription, p params) *stream {
	s := &stream{
		h:      h,
		w:      w,
		rc:     http.NewResponseController(w),
		r:      r,
		ctx:    ctx,
		sub:    sub,
		p:      p,
		log:    h.log,
		remote: r.RemoteAddr,
		pace:   bridge.NewPace(h.wheel),
	}
	s.pace.Attach(sub)
	return s
}

// release stops the stream's heartbeat clock and the wake at its end.
func (s *stream) release() {
	if s.clock != nil {
		s.clock.stop()
		s.stopWake()
	}
}

// setHeaders sets the headers of the event stream's response.
func (s *stream) setHeaders(hdr http.Header) {
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no") // keep reverse proxies from buffering the stream
}

// run writes the headers, the retry hint and the subscribed event, then
// relays events until the stream ends.
func (s *stream) run() {
	if !s.begin() {
		return
	}
	for s.relay() {
	}
}

// begin writes the headers, the retry hint and the subscribed event, and
// reports whether that succeeded. On a hijacked connection the headers go
// out with the frames, in one write.
func (s *stream) begin() bool {
	if s.hc == nil {
		hdr := s.w.Header()
		s.setHeaders(hdr)
		if s.r.ProtoMajor == 1 {
			hdr.Set("Connection", "keep-alive")
		}
		s.w.WriteHeader(http.StatusOK)
	}
	s.buf = appendRetry(s.buf, s.h.cfg.Retry)
	s.buf = appendSubscribed(s.buf, s.sub.Subscribed(), s.p.heartbeat, !s.p.resumes)
	// The goroutine waits on the subscription's Ready channel alone: the
	// clock and the stream's end wake it there.
	s.clock = newClock(s.p.heartbeat, s.sub.Wake)
	s.stopWake = context.AfterFunc(s.ctx, s.sub.Wake)
	return s.flush()
}

// relay relays events until the stream ends, when it reports false, or
// until the stream asks for a fresh goroutine (renew), when it reports
// true. The goroutine waits on one channel, the subscription's Ready,
// where events, the heartbeat clock and the stream's end all wake it; the
// wait is right here, so that an idle stream's goroutine waits in a
// shallow stack.
func (s *stream) relay() bool {
	for {
		if s.renew {
			s.renew = false
			return true
		}
		events, err := s.sub.TryNext(s.events[:0])
		if err == nil && len(events) == 0 {
			s.events = events
			// TryNext may have taken the token of a wake for the clock or
			// the end: ask them before waiting.
			if s.ctx.Err() == nil && !s.clock.woken() {
				<-s.sub.Ready()
			} else if !s.beat() {
				return false
			}
			continue
		}
		if !s.handle(events, err) {
			return false
		}
	}
}

// relayOn relays the events of a hijacked stream on the current goroutine
// and then on fresh ones (see renew), and calls done when the stream ends.
func (s *stream) relayOn(done func()) {
	if s.relay() {
		go s.relayOn(done)
		return
	}
	done()
}

// handle handles what the subscription handed out and reports whether
// the stream goes on. Events go out only while the stream's context is
// live: once it has ended (the credential expired, the handler shuts
// down, the client left) the stream ends as stopped says, whatever the
// subscription still handed out.
func (s *stream) handle(events []engine.Event, err error) bool {
	if len(events) > 0 {
		s.takenAt = time.Now()
		s.pace.Took(s.takenAt, len(events))
	}
	if err == nil {
		if s.add(events) && s.live() && s.flush() {
			return true
		}
		if s.failed {
			return false
		}
		return s.stopped()
	}
	if s.ctx.Err() != nil {
		return s.stopped()
	}
	switch {
	case errors.Is(err, engine.ErrSlowConsumer):
		s.h.m.SlowConsumers.Inc()
		s.end(reasonSlowConsumer, err)
	case errors.Is(err, engine.ErrClosed):
		s.end(reasonGoingAway, err)
	default:
		s.log.LogAttrs(s.ctx, slog.LevelError, "sse: subscription failed", slog.String("err", err.Error()))
	}
	return false
}

// live reports whether the stream's context is still live, so that events
// may be written. Once it has ended, live drops the frames of the batch
// not yet written: nothing but the event of the stream's end goes out
// after that.
func (s *stream) live() bool {
	if s.ctx.Err() == nil {
		return true
	}
	s.emptyBuffer()
	clear(s.batch)
	s.batch = s.batch[:0]
	return false
}

// add writes events out: it encodes them into the output buffer, which
// write.go writes whenever it grows large while the stream is live, and
// reports whether that succeeded.
func (s *stream) add(events []engine.Event) bool {
	ok := true
	for _, ev := range events {
		switch {
		case !ok:
		case ev.Message != nil:
			s.batch = append(s.batch, ev.Message)
			ok = s.out(messageFrame(ev.Message, s.p.envelope))
		case ev.Gap != nil:
			s.buf = appendGap(s.buf, ev.Gap)
		}
	}
	clear(events)
	if cap(events) > maxKeptEvents {
		events = nil
	}
	s.events = events[:0]
	return ok
}

// beat handles a wake with no event ready: when the stream's context
// has ended, the end (see stopped); otherwise the clock's, with a
// heartbeat written when one is due. It reports whether the stream goes
// on.
func (s *stream) beat() bool {
	if s.ctx.Err() != nil {
		return s.stopped()
	}
	now := time.Now()
	if s.clock.isDue(now) {
		s.buf = appendHeartbeat(s.buf, now)
		if !s.flush() {
			return false
		}
		s.renew = s.hc != nil
		now = time.Now()
	}
	s.clock.rearm(now)
	return true
}

// stopped ends a stream whose context has ended: with the herald.error
// event its cause deserves, if any (nobody is left to tell a client that
// left). It reports false.
func (s *stream) stopped() bool {
	switch cause := context.Cause(s.ctx); {
	case errors.Is(cause, errGoingAway):
		s.end(reasonGoingAway, cause)
	case errors.Is(cause, errTokenExpired):
		s.h.m.Refuse(refusal.TokenExpired)
		s.end(reasonTokenExpired, cause)
	}
	return false
}

// end writes the herald.error event of reason as the stream's last frame.
// A stream that ends because its server goes away suggests a reconnect
// delay spread between one and two retry intervals, so that its clients
// do not all come back at once.
func (s *stream) end(reason endReason, cause error) {
	var retry time.Duration
	if reason == reasonGoingAway {
		r := s.h.cfg.Retry
		retry = r + rand.N(r+1)
	}
	s.buf = appendError(s.buf, reason, retry)
	if s.flush() && s.log.Enabled(s.ctx, slog.LevelDebug) {
		s.log.LogAttrs(context.WithoutCancel(s.ctx), slog.LevelDebug, "sse: stream ended",
			slog.String("reason", reason.String()), slog.String("cause", cause.Error()))
	}
}
