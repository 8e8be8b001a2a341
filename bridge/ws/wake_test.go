package ws

import (
	"testing"
	"time"

	"github.com/heraldhq/herald/bridge"
)

// TestWriterDoesNotWaitPastAPendingSignal: a signal whose token on the
// Ready channel was taken along with events (TryNext drains the token
// with the queue) is still seen: the writer finds the signal pending and
// does not wait on a channel that will not wake it.
func TestWriterDoesNotWaitPastAPendingSignal(t *testing.T) {
	t.Parallel()
	// returns reports whether c's writer, looking for what to do next,
	// comes back rather than waiting.
	returns := func(c *conn) bool {
		done := make(chan struct{})
		go func() {
			c.next()
			close(done)
		}()
		select {
		case <-done:
			return true
		case <-time.After(testTimeout):
			return false
		}
	}
	for _, sig := range []signal{sigInbox, sigTimer, sigEnd} {
		// A subscription with nothing ready whose Ready never fires.
		src := waitingSource{waiting: make(chan struct{}, 1)}
		sub, err := src.Subscribe(t.Context(), bridge.Request{Topics: []string{"t"}})
		if err != nil {
			t.Fatal(err)
		}
		c := &conn{wake: make(chan struct{}, 1), sub: sub, waitOn: sub}
		c.flags.Store(uint32(sig)) // left by signal, its token gone
		if !returns(c) {
			t.Fatalf("signal %v pending: the writer waited on Ready regardless", sig)
		}
	}
	// Without a subscription the writer waits on wake: the same holds.
	c := &conn{wake: make(chan struct{}, 1)}
	c.flags.Store(uint32(sigInbox))
	if !returns(c) {
		t.Fatal("signal pending without a subscription: the writer waited on wake regardless")
	}
}
