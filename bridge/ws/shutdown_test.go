package ws

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestShutdownAndResume: Shutdown closes connections with 1001, refuses
// new ones with 503, and a client resumes from its last id on another
// handler without losing anything.
func TestShutdownAndResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	e.publish(t, "a", "before")
	last := expect(t, c, "message").msgID()
	col := collect(t, c)

	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if got := e.connections(t); got != 0 {
		t.Errorf("connections gauge %v after Shutdown, want 0", got)
	}
	wantClose(t, col.wait(t), websocket.CloseGoingAway, "shutting down")
	_, resp, err := e.tryDial(t, "?topic=a")
	wantRefused(t, resp, err, 503, 14, "shutting down")

	var missed []string
	for _, d := range []string{"while", "away"} {
		missed = append(missed, e.publish(t, "a", d).ID.String())
	}
	e2 := newEnvOn(t, e.eng, envConfig{})
	c2 := e2.dial(t, "?topic=a&last_event_id="+last)
	expect(t, c2, "subscribed")
	for _, id := range missed {
		if got := expect(t, c2, "message").msgID(); got != id {
			t.Fatalf("resumed with %s, want %s", got, id)
		}
	}
}

// TestShutdownOfUnresponsiveClients: a client that never answers the
// close frame is cut off after the close timeout, and a Shutdown whose
// context ends first says so and still frees everything.
func TestShutdownOfUnresponsiveClients(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	for range 3 {
		e.dial(t, "?topic=a") // never read
	}
	waitFor(t, testTimeout, "connections", func() bool { return e.connections(t) == 3 })
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	if err := e.h.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if elapsed := time.Since(start); elapsed > closeTimeout+5*time.Second {
		t.Errorf("Shutdown took %v", elapsed)
	}

	e2 := newEnv(t, envConfig{})
	e2.dial(t, "?topic=a")
	waitFor(t, testTimeout, "connection", func() bool { return e2.connections(t) == 1 })
	expired, cancel2 := context.WithCancel(context.Background())
	cancel2()
	// The connection may or may not have ended by the time Shutdown looks;
	// either way Shutdown returns at once and the connection is closed.
	if err := e2.h.Shutdown(expired); err != nil && !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an ended context: %v", err)
	}
	e2.waitClosed(t)

	// With nothing left to wait for, Shutdown succeeds even when its
	// context has ended too: drained wins over the context every time.
	for i := range 100 {
		if err := e2.h.Shutdown(expired); err != nil {
			t.Fatalf("Shutdown %d with no connections and an ended context: %v", i, err)
		}
	}
}
