package ws

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine/memory"
)

// TestSlowConsumerQueueOverflow: a client that stops reading while
// messages keep coming overflows its queue and is closed with 4000,
// while another client on the same topic gets everything.
func TestSlowConsumerQueueOverflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{
		engine: memory.Options{HistorySize: 1000},
		source: bridge.LocalConfig{QueueLen: 8},
		sndbuf: 4096,
	})
	slow := e.dial(t, "?topic=s", dialOpts{rcvbuf: 4096})
	fast := e.dial(t, "?topic=s")
	expect(t, fast, "subscribed")
	col := collect(t, fast)
	waitFor(t, testTimeout, "both subscribed", func() bool { return e.subscriptions(t) == 2 })

	// Publish in steps the fast client keeps up with, so that only the
	// slow one can overflow its queue of 8.
	payload := string(bytes.Repeat([]byte("p"), 1024))
	const n = 200
	var last string
	for i := 0; i < n; {
		for range 4 {
			last = e.publish(t, "s", payload).ID.String()
			i++
		}
		waitFor(t, testTimeout, "the fast client to keep up", func() bool { return len(col.messages()) == i })
	}
	if got := col.messages()[n-1].msgID(); got != last {
		t.Fatalf("fast client's last message %s, want %s", got, last)
	}

	// The slow client reads now: what was written, then the close.
	frames, err := readUntilClose(slow)
	wantClose(t, err, CloseSlowConsumer, "slow consumer: queue overflowed")
	got := 0
	for _, f := range frames {
		if f.Type == "message" {
			got++
		}
	}
	if got == 0 || got >= n {
		t.Errorf("slow client got %d of %d messages before the close", got, n)
	}
	if v := e.slowConsumers(t); v != 1 {
		t.Errorf("slow consumers %v, want 1", v)
	}
	waitFor(t, testTimeout, "the slow connection freed", func() bool { return e.connections(t) == 1 })
	if logs := e.logs.String(); !strings.Contains(logs, "reason=slow_consumer code=4000") {
		t.Errorf("no log line for the slow consumer in:\n%s", logs)
	}
}

// TestSlowConsumerWriteTimeout: a client that stops reading until a write
// misses its deadline is closed as a slow consumer; the others carry on.
// The fast client is served by a handler with the default write timeout,
// so that a busy machine cannot make it miss one.
func TestSlowConsumerWriteTimeout(t *testing.T) {
	t.Parallel()
	src := bridge.LocalConfig{QueueLen: 10_000, QueueBytes: 64 << 20}
	e := newEnv(t, envConfig{
		ws:     Config{WriteTimeout: 200 * time.Millisecond},
		source: src,
		sndbuf: 4096,
	})
	other := newEnvOn(t, e.eng, envConfig{source: src})
	slow := e.dial(t, "?topic=s", dialOpts{rcvbuf: 4096})
	fast := other.dial(t, "?topic=s")
	expect(t, fast, "subscribed")
	col := collect(t, fast)
	waitFor(t, testTimeout, "both subscribed", func() bool { return e.subscriptions(t)+other.subscriptions(t) == 2 })

	payload := string(bytes.Repeat([]byte("w"), 1024))
	const n = 300
	for range n {
		e.publish(t, "s", payload)
	}
	waitFor(t, testTimeout, "a slow consumer", func() bool { return e.slowConsumers(t) == 1 })
	waitFor(t, testTimeout, "the fast client to get everything", func() bool { return len(col.messages()) == n })

	// The close frame is written if the client drains its buffers within
	// the close timeout; either way the connection ends.
	_, err := readUntilClose(slow)
	var ce *websocket.CloseError
	if errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure {
		wantClose(t, err, CloseSlowConsumer, "slow consumer: write timed out")
	}
	e.waitClosed(t)
	if got := other.connections(t); got != 1 {
		t.Errorf("the fast connection is gone")
	}
}

// TestInboxFlood: a client that sends frames faster than the writer can
// answer them overflows the inbox and is closed with 1008.
func TestInboxFlood(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{
		source: bridge.LocalConfig{QueueLen: 10_000, QueueBytes: 64 << 20},
		sndbuf: 4096,
	})
	c := e.dial(t, "?topic=f", dialOpts{rcvbuf: 4096})
	// Block the writer: messages fill the socket buffers while the client
	// does not read.
	payload := string(bytes.Repeat([]byte("f"), 1024))
	for range 100 {
		e.publish(t, "f", payload)
	}
	for range 2 * inboxLen {
		send(t, c, `{"type":"ping"}`)
	}
	waitFor(t, testTimeout, "the flood to be noticed", func() bool { return e.refused(t, "frame_flood") == 1 })
	_, err := readUntilClose(c)
	wantClose(t, err, websocket.ClosePolicyViolation, "too many frames awaiting an answer")
	e.waitClosed(t)
}
