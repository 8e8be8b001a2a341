package sse

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"time"
)

// Bounds of a stream's output buffer.
const (
	// maxBuffered is how much a stream buffers before it writes: a batch
	// larger than this goes out in several writes, so that a replay of
	// large messages never gathers in memory.
	maxBuffered = 64 << 10
	// directFrame is the size from which a cached frame is written as it
	// is rather than copied into the buffer.
	directFrame = 16 << 10
	// maxKeptBuffer is the largest output buffer a stream keeps between
	// batches; a larger one is dropped for the garbage collector, so idle
	// streams stay small.
	maxKeptBuffer = 16 << 10
)

// out adds a frame to the batch: into the buffer, which is written once it
// grows large, or, for a large frame, written as it is. Nothing is written
// once the stream's context has ended (see live). It reports whether the
// frame was buffered or written.
func (s *stream) out(frame []byte) bool {
	if len(frame) >= directFrame {
		return s.live() && s.writeBuffer() && s.write(frame, false)
	}
	s.buf = append(s.buf, frame...)
	if len(s.buf)-s.room >= maxBuffered {
		return s.live() && s.writeBuffer()
	}
	return true
}

// writeBuffer writes what is buffered.
func (s *stream) writeBuffer() bool {
	if len(s.buf) == s.room {
		return true
	}
	var ok bool
	if s.room > 0 {
		ok = s.write(s.hc.frame(&s.buf, s.room), true)
	} else {
		ok = s.write(s.buf, false)
	}
	if cap(s.buf) > maxKeptBuffer {
		s.buf = nil
	}
	s.emptyBuffer()
	return ok
}

// emptyBuffer empties the buffer for the next batch. On a hijacked
// connection whose body is chunked, once the header block is out, it
// keeps room at the front for the chunk's size line (see
// hijacked.frame), so that a chunk goes out as one buffer, without
// moving its bytes: a socket call with one buffer costs less than one
// with several.
func (s *stream) emptyBuffer() {
	s.room = 0
	if s.hc != nil && s.hc.chunked && s.hc.head == nil {
		s.room = chunkRoom
	}
	s.buf = append(s.buf[:0], make([]byte, s.room)...)
}

// write writes p to the response under the write timeout and reports
// whether that succeeded; p framed is a whole chunk (see writeConn).
func (s *stream) write(p []byte, framed bool) bool {
	deadline := s.renewDeadline(s.clockForWrite())
	if s.hc != nil {
		// Written straight to the connection: nothing to flush.
		if err := s.writeConn(p, framed); err != nil {
			s.writeFailed(err, deadline)
			return false
		}
		s.pending = true
		return true
	}
	if _, err := s.w.Write(p); err != nil {
		s.writeFailed(err, deadline)
		return false
	}
	s.pending = true
	return true
}

// flush ends a batch: it writes what is buffered and flushes everything
// written to the client, under the write timeout, then accounts for the
// batch's messages. It reports whether that succeeded.
func (s *stream) flush() bool {
	if !s.writeBuffer() {
		return false
	}
	if !s.pending {
		return true
	}
	if s.hc != nil {
		s.pending = false
		s.wrote()
		return true
	}
	// The deadline of the batch's last write still covers the flush that
	// follows it at once.
	deadline := s.renewDeadline(time.Now())
	if err := s.rc.Flush(); err != nil {
		s.writeFailed(err, deadline)
		return false
	}
	s.pending = false
	s.wrote()
	return true
}

// wrote accounts for a batch that reached the client (or the connection):
// the heartbeat clock and the delivery metrics of its messages.
func (s *stream) wrote() {
	now := s.takenAt
	if now.IsZero() {
		now = time.Now()
	}
	s.takenAt = time.Time{}
	s.clock.wrote(now)
	for _, m := range s.batch {
		s.h.m.ObserveDelivery(m.Time, now)
	}
	clear(s.batch)
	s.batch = s.batch[:0]
}

// clockForWrite returns the time for the deadline of a write: when its
// batch was taken, for the batch's first write, which follows at once;
// the clock, for a later one, which may follow a write that waited.
func (s *stream) clockForWrite() time.Time {
	if s.pending || s.takenAt.IsZero() {
		return time.Now()
	}
	return s.takenAt
}

// renewDeadline makes sure the next write, made at now, has at least
// half the write timeout, and returns the deadline: a fresh one is set
// only when less than half of the current one is left, which spares most
// writes the cost of re-arming the runtime's deadline timer. A write may
// thus be given between half of the write timeout and all of it.
func (s *stream) renewDeadline(now time.Time) time.Time {
	if s.writeDeadline.Sub(now) >= s.h.cfg.WriteTimeout/2 {
		return s.writeDeadline
	}
	return s.deadline()
}

// deadline sets the write deadline for the next write, when the response
// supports it, and returns it (also kept in s.writeDeadline).
func (s *stream) deadline() time.Time {
	deadline := time.Now().Add(s.h.cfg.WriteTimeout)
	s.writeDeadline = deadline
	if s.hc != nil {
		_ = s.hc.conn.SetWriteDeadline(deadline)
	} else if !s.noWDL {
		if err := s.rc.SetWriteDeadline(deadline); errors.Is(err, http.ErrNotSupported) {
			s.noWDL = true
		}
	}
	return deadline
}

// writeFailed accounts for a failed write, after which the stream writes
// nothing more: one that hit its deadline means a client that stopped
// reading, a slow consumer; others a client that left.
func (s *stream) writeFailed(err error, deadline time.Time) {
	s.failed = true
	ctx := context.WithoutCancel(s.ctx)
	switch {
	case errors.Is(err, http.ErrNotSupported):
		s.log.LogAttrs(ctx, slog.LevelError, "sse: the response writer cannot flush; streams need one that can",
			slog.String("err", err.Error()))
	case errors.Is(err, os.ErrDeadlineExceeded) || (!s.noWDL && !time.Now().Before(deadline)):
		s.h.m.SlowConsumers.Inc()
		s.log.LogAttrs(ctx, slog.LevelInfo, "sse: slow consumer: a write stalled past the write timeout",
			slog.Duration("write_timeout", s.h.cfg.WriteTimeout), slog.String("remote", s.remote))
	case s.log.Enabled(ctx, slog.LevelDebug):
		s.log.LogAttrs(ctx, slog.LevelDebug, "sse: write failed", slog.String("err", err.Error()))
	}
}
