package server

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// clockHarness runs a streamClock in a synctest bubble, where time moves
// only when every goroutine of the bubble is blocked.
type clockHarness struct {
	c *streamClock

	mu     sync.Mutex
	causes []error
}

func newClockHarness(ctx context.Context, heartbeat, writeTimeout time.Duration) *clockHarness {
	h := &clockHarness{}
	h.c = newStreamClock(ctx, heartbeat, writeTimeout, func(cause error) {
		h.mu.Lock()
		defer h.mu.Unlock()
		h.causes = append(h.causes, cause)
	})
	return h
}

func (h *clockHarness) aborted() []error {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]error(nil), h.causes...)
}

// advance sleeps d of bubble time and lets the timer's goroutine finish.
func advance(d time.Duration) {
	time.Sleep(d)
	synctest.Wait()
}

func TestClockHeartbeatOnIdle(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newClockHarness(t.Context(), time.Second, 3*time.Second)
		defer h.c.stop()
		h.c.sent(time.Now())

		advance(time.Second - time.Millisecond)
		if h.c.woken() {
			t.Fatal("woken before the heartbeat interval")
		}
		advance(time.Millisecond)
		if !h.c.woken() || !h.c.due(time.Now()) {
			t.Fatalf("after 1s idle: woken %v, due %v; want both", h.c.woken(), h.c.due(time.Now()))
		}

		// The stream sends its heartbeat and re-arms: the next wake is one
		// interval later.
		h.c.sending(time.Now())
		h.c.sent(time.Now())
		h.c.rearm(time.Now())
		if h.c.woken() {
			t.Fatal("the new wait context is already cancelled")
		}
		advance(time.Second - time.Millisecond)
		if h.c.woken() {
			t.Fatal("woken early after re-arm")
		}
		advance(time.Millisecond)
		if !h.c.woken() {
			t.Fatal("not woken one interval after re-arm")
		}
		if got := h.aborted(); len(got) != 0 {
			t.Fatalf("aborted %v on an idle stream", got)
		}
	})
}

func TestClockTrafficPostponesHeartbeat(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newClockHarness(t.Context(), time.Second, 3*time.Second)
		defer h.c.stop()
		h.c.sent(time.Now())
		advance(500 * time.Millisecond)
		h.c.sending(time.Now())
		h.c.sent(time.Now())

		// The timer fires at 1s, finds traffic at 0.5s and re-arms for
		// 1.5s without waking the stream.
		advance(999 * time.Millisecond)
		if h.c.woken() {
			t.Fatal("woken although the stream sent 0.999s ago")
		}
		advance(time.Millisecond)
		if !h.c.woken() {
			t.Fatal("not woken one interval after the last send")
		}
	})
}

func TestClockSpuriousWake(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newClockHarness(t.Context(), time.Second, 3*time.Second)
		defer h.c.stop()
		h.c.sent(time.Now())
		advance(time.Second)
		if !h.c.woken() {
			t.Fatal("not woken")
		}
		// A batch was sent after the timer decided to wake but before the
		// stream looked: no heartbeat is due, and re-arming counts from
		// that send.
		advance(200 * time.Millisecond)
		h.c.sending(time.Now())
		h.c.sent(time.Now())
		if h.c.due(time.Now()) {
			t.Fatal("heartbeat due right after a send")
		}
		h.c.rearm(time.Now())
		advance(999 * time.Millisecond)
		if h.c.woken() {
			t.Fatal("woken early")
		}
		advance(time.Millisecond)
		if !h.c.woken() {
			t.Fatal("not woken one interval after the send")
		}
	})
}

func TestClockWriteTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newClockHarness(t.Context(), time.Second, 3*time.Second)
		defer h.c.stop()
		h.c.sending(time.Now())

		advance(3*time.Second - time.Millisecond)
		if got := h.aborted(); len(got) != 0 {
			t.Fatalf("aborted %v before the write timeout", got)
		}
		advance(time.Millisecond)
		got := h.aborted()
		if len(got) != 1 || !errors.Is(got[0], errWriteStalled) {
			t.Fatalf("aborted with %v, want errWriteStalled once", got)
		}
		if h.c.woken() {
			t.Fatal("a stalled send also woke the wait")
		}
		advance(time.Hour)
		if got := h.aborted(); len(got) != 1 {
			t.Fatalf("aborted %d times", len(got))
		}
	})
}

func TestClockSendCompletesInTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newClockHarness(t.Context(), time.Second, 3*time.Second)
		defer h.c.stop()
		h.c.sending(time.Now())
		advance(2 * time.Second)
		h.c.sent(time.Now())
		advance(time.Second)
		if got := h.aborted(); len(got) != 0 {
			t.Fatalf("aborted %v although the send completed within the timeout", got)
		}
		if !h.c.woken() {
			t.Fatal("not woken one interval after the send completed")
		}
	})
}

func TestClockStop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newClockHarness(t.Context(), time.Second, time.Second)
		h.c.sending(time.Now())
		wait := h.c.waitContext()
		h.c.stop()
		if wait.Err() == nil {
			t.Error("stop did not release the wait context")
		}
		advance(time.Hour)
		if got := h.aborted(); len(got) != 0 {
			t.Fatalf("a stopped clock aborted: %v", got)
		}
	})
}

// The wait context ends with the stream's context.
func TestClockParentCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		h := newClockHarness(ctx, time.Second, time.Second)
		defer h.c.stop()
		cancel()
		if h.c.waitContext().Err() == nil {
			t.Fatal("wait context outlived the stream's")
		}
	})
}
