package sse

import (
	"bufio"
	"encoding/json"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/metrics"
)

// tinyBuffers makes the server's side of every accepted connection keep as
// little unsent data as the kernel allows, so that a client that stops
// reading blocks the server's writes soon.
type tinyBuffers struct{ net.Listener }

func (l tinyBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(4096)
	}
	return c, err
}

// rawStream sends GET path on a plain TCP connection with a tiny receive
// buffer and reads nothing until told to.
type rawStream struct {
	conn net.Conn
	req  *http.Request
}

func openRaw(t testing.TB, e *env, path string) *rawStream {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.(*net.TCPConn).SetReadBuffer(4096)
	req, err := http.NewRequest(http.MethodGet, e.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := req.Write(conn); err != nil {
		t.Fatal(err)
	}
	return &rawStream{conn: conn, req: req}
}

// frames starts reading: it parses the response and returns its frames
// until the stream ends.
func (r *rawStream) frames(t testing.TB) []frame {
	t.Helper()
	_ = r.conn.SetReadDeadline(time.Now().Add(testTimeout))
	resp, err := http.ReadResponse(bufio.NewReader(r.conn), r.req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	s := &eventStream{resp: resp, r: bufio.NewReader(resp.Body), cancel: func() {}}
	return s.ended(t)
}

func TestDeadClientIsFreedByTheWriteDeadline(t *testing.T) {
	t.Parallel()
	const interval = 200 * time.Millisecond
	e := newEnv(t, envOptions{
		cfg:    Config{HeartbeatInterval: interval, WriteTimeout: interval},
		listen: func(l net.Listener) net.Listener { return tinyBuffers{l} },
	})
	dead := openRaw(t, e, "/v1/sse?topic=t")
	alive := e.open(t, "/v1/sse?topic=t", nil)
	alive.subscribed(t)
	waitFor(t, testTimeout, "both streams", func() bool { return e.subscriptions(t) == 2 })

	// The dead client reads nothing: its socket fills, a write blocks, and
	// its deadline frees the stream. The other client is not held up.
	payload := strings.Repeat("x", 16<<10)
	for range 64 {
		id := e.publish(t, "t", payload)
		alive.message(t, id, payload)
	}
	// The dead client's socket is full well before the last message, so
	// its write has been blocked since then at the latest: it is freed
	// within two intervals of it (plus slack for a busy machine).
	last := time.Now()
	waitFor(t, testTimeout, "the dead client's stream to end", func() bool { return e.subscriptions(t) == 1 })
	if took, limit := time.Since(last), 2*interval+time.Second; took > limit {
		t.Errorf("dead client freed %v after the last message, want within %v", took, limit)
	}
	if n := value(t, e.metrics.SlowConsumers.WithLabelValues(metrics.TransportSSE)); n != 1 {
		t.Fatalf("%v slow consumers counted, want 1", n)
	}
	_ = dead.conn.Close()
}

func TestSlowConsumerGetsAnErrorEventAndOthersGoOn(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{
		// Long write timeout: the stalled write waits for the client, and
		// the overflow of the queue behind it ends the stream.
		cfg:    Config{WriteTimeout: testTimeout, CoalesceWindow: -1},
		local:  bridge.LocalConfig{QueueLen: 8},
		listen: func(l net.Listener) net.Listener { return tinyBuffers{l} },
	})
	slow := openRaw(t, e, "/v1/sse?topic=t")
	fast := e.open(t, "/v1/sse?topic=t", nil)
	fast.subscribed(t)
	waitFor(t, testTimeout, "both streams", func() bool { return e.subscriptions(t) == 2 })

	payload := strings.Repeat("y", 64<<10)
	var ids []engine.ID
	for range 20 {
		id := e.publish(t, "t", payload)
		fast.message(t, id, payload)
		ids = append(ids, id)
	}

	// The slow client reads at last: the messages that were written, in
	// order, then the error event, then the end.
	frames := slow.frames(t)
	if len(frames) < 3 || frames[0].retry == "" || frames[1].event != eventSubscribed {
		t.Fatalf("slow stream began with %d frames", len(frames))
	}
	last := frames[len(frames)-1]
	var ed errorData
	if last.event != eventError || json.Unmarshal([]byte(last.data), &ed) != nil || ed.Code != "slow_consumer" ||
		!strings.Contains(ed.Message, "resume") || last.hasID {
		t.Fatalf("last frame %+v, want herald.error slow_consumer", last)
	}
	msgs := frames[2 : len(frames)-1]
	if len(msgs) == 0 || len(msgs) >= len(ids) {
		t.Fatalf("%d messages before the error, want some but not all %d", len(msgs), len(ids))
	}
	for i, f := range msgs {
		if f.id != ids[i].String() || len(f.data) != len(payload) {
			t.Fatalf("message %d: id %s (%d bytes), want %s", i, f.id, len(f.data), ids[i])
		}
	}
	if n := value(t, e.metrics.SlowConsumers.WithLabelValues(metrics.TransportSSE)); n != 1 {
		t.Fatalf("%v slow consumers counted, want 1", n)
	}
	// The fast client keeps receiving.
	id := e.publish(t, "t", "after")
	fast.message(t, id, "after")
}

// recordingConn records when each write to a connection began.
type recordingConn struct {
	net.Conn
	writes *writeLog
}

func (c recordingConn) Write(p []byte) (int, error) {
	c.writes.add(time.Now())
	return c.Conn.Write(p)
}

type recordingListener struct {
	net.Listener
	writes *writeLog
}

func (l recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return recordingConn{Conn: c, writes: l.writes}, nil
}

// writeLog is a concurrency-safe list of times.
type writeLog struct {
	mu    sync.Mutex
	times []time.Time
}

func (w *writeLog) add(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.times = append(w.times, t)
}

func (w *writeLog) since(i int) []time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.times[i:])
}

func (w *writeLog) len() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return len(w.times)
}

func TestCoalescingPacesBusyStreams(t *testing.T) {
	t.Parallel()
	const window = 100 * time.Millisecond
	writes := new(writeLog)
	e := newEnv(t, envOptions{
		cfg:    Config{CoalesceWindow: window},
		listen: func(l net.Listener) net.Listener { return recordingListener{Listener: l, writes: writes} },
	})
	s := e.open(t, "/v1/sse?topic=t", nil)
	s.subscribed(t)
	start := writes.len()

	// A steady stream, a message every millisecond or so.
	const n = 60
	ids := make([]engine.ID, n)
	for i := range ids {
		ids[i] = e.publish(t, "t", strconv.Itoa(i))
		time.Sleep(time.Millisecond)
	}
	for i, id := range ids {
		s.message(t, id, strconv.Itoa(i))
	}
	w := writes.since(start)
	if len(w) > n/2 {
		t.Fatalf("%d messages published together took %d writes, want them coalesced", n, len(w))
	}
	// The first message goes out at once; from the second on the stream
	// is busy: the message that arrives after a write, about a millisecond
	// later, wakes the writer only at the end of its window (less at most
	// one tick of the shared clock, a 32nd of it), with those that came
	// meanwhile.
	for i := 1; i < len(w); i++ {
		if gap := w[i].Sub(w[i-1]); gap < window*31/32*95/100 {
			t.Fatalf("write %d came %v after the one before, want about the window %v", i, gap, window)
		}
	}
	t.Logf("%d messages in %d writes", n, len(w))
}

func TestCoalescingDelaysNeitherIdleStreamsNorShutdown(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{CoalesceWindow: time.Hour, Retry: time.Second}})
	s := e.open(t, "/v1/sse?topic=t", nil)
	s.subscribed(t)
	// An idle stream writes at once, however long the window.
	first := e.publish(t, "t", "1")
	s.message(t, first, "1")
	// Now busy, the stream's next message waits for the window, but not
	// past a shutdown.
	e.publish(t, "t", "2")
	time.Sleep(50 * time.Millisecond) // for the message to settle into its wait
	if err := e.h.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantGoingAway(t, s, time.Second)
}
