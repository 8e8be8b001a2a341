package ws

import (
	"bytes"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine/memory"
)

// The interval of the keepalive tests: short, so that the tests are quick,
// and with bounds generous enough for a busy machine.
const testInterval = 100 * time.Millisecond

func TestIdleConnectionGetsPingsAndHeartbeats(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{ws: Config{HeartbeatInterval: testInterval}})
	c := e.dial(t, "?topic=idle")
	var pings atomic.Int32
	c.SetPingHandler(func(data string) error {
		pings.Add(1)
		return c.WriteControl(websocket.PongMessage, []byte(data), time.Now().Add(testTimeout))
	})
	sub := expect(t, c, "subscribed")
	if sub.HeartbeatInterval != "100ms" {
		t.Errorf("heartbeat_interval %q, want 100ms", sub.HeartbeatInterval)
	}
	// Pings of the client's own keep the read deadline moving even if a
	// busy machine delays a Pong: this test is about what the server
	// sends. (Control frames are not data: they do not hold heartbeats
	// back.)
	stop := make(chan struct{})
	defer close(stop)
	go func() {
		tick := time.NewTicker(testInterval / 4)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if c.WriteControl(websocket.PingMessage, nil, time.Now().Add(testTimeout)) != nil {
					return
				}
			}
		}
	}()
	start := time.Now()
	for range 3 {
		f := readFrame(t, c)
		if f.Type != "heartbeat" {
			t.Fatalf("idle connection got %s", f.raw)
		}
		if _, err := time.Parse(time.RFC3339, f.Time); err != nil {
			t.Fatalf("heartbeat time %q: %v", f.Time, err)
		}
	}
	if elapsed := time.Since(start); elapsed < 2*testInterval {
		t.Errorf("3 heartbeats came within %v: more than one per interval", elapsed)
	}
	// The Ping handler runs while reading; the third Ping went out with
	// the third heartbeat.
	if n := pings.Load(); n < 2 {
		t.Errorf("%d Pings during 3 heartbeats, want one per interval", n)
	}
}

// TestPongsKeepTheConnectionOpen: a client that answers Pings and sends
// nothing else stays connected for many read deadlines.
func TestPongsKeepTheConnectionOpen(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	e := newEnv(t, envConfig{ws: Config{HeartbeatInterval: interval}})
	c := e.dial(t, "?topic=idle")
	expect(t, c, "subscribed")
	start := time.Now()
	for range 5 {
		if f := readFrame(t, c); f.Type != "heartbeat" {
			t.Fatalf("idle connection got %s", f.raw)
		}
	}
	if elapsed := time.Since(start); elapsed < 4*interval {
		t.Errorf("5 heartbeats within %v", elapsed)
	}
	if got := e.connections(t); got != 1 {
		t.Errorf("connections gauge %v, want 1", got)
	}
}

// TestPeerThatNeverPongs: a client that reads but never answers Pings (and
// sends nothing else) is closed within two intervals.
func TestPeerThatNeverPongs(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{ws: Config{HeartbeatInterval: testInterval}})
	c := e.dial(t, "?topic=a")
	c.SetPingHandler(func(string) error { return nil })
	start := time.Now()
	_, err := readUntilClose(c)
	elapsed := time.Since(start)
	if err == nil {
		t.Fatal("connection still open")
	}
	e.waitClosed(t)
	// Two intervals of read deadline, plus slack for a busy machine.
	if limit := 2*testInterval + time.Second; elapsed > limit {
		t.Errorf("dead peer freed after %v, want within %v", elapsed, limit)
	}
	if got := e.subscriptions(t); got != 0 {
		t.Errorf("subscriptions gauge %v, want 0", got)
	}
}

// TestPeerThatStopsReading: a client that stops reading altogether, with
// tiny socket buffers and the server's writes blocked, is freed within two
// intervals, long before the write timeout.
func TestPeerThatStopsReading(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{
		ws:     Config{HeartbeatInterval: testInterval, WriteTimeout: time.Minute},
		source: bridge.LocalConfig{QueueLen: 10_000, QueueBytes: 64 << 20},
		sndbuf: 4096,
	})
	e.dial(t, "?topic=a", dialOpts{rcvbuf: 4096}) // and never read
	payload := string(bytes.Repeat([]byte("x"), 1024))
	start := time.Now()
	for range 200 {
		e.publish(t, "a", payload)
	}
	e.waitClosed(t)
	if limit := 2*testInterval + time.Second; time.Since(start) > limit {
		t.Errorf("dead peer freed after %v, want within %v", time.Since(start), limit)
	}
	if got := e.slowConsumers(t); got != 0 {
		t.Errorf("slow consumers %v: a dead peer is not a slow consumer", got)
	}
}

// TestKeepaliveSchedule checks the writer's timing decisions directly:
// Pings every interval whatever the traffic, heartbeats only after an
// interval without data, and a timer that is not reset by traffic.
func TestKeepaliveSchedule(t *testing.T) {
	t.Parallel()
	eng := memory.New(memory.Options{})
	defer eng.Close()
	h := New(bridge.NewLocalSource(eng, bridge.LocalConfig{}), Config{})
	var fired atomic.Int32
	c := &conn{h: h, interval: time.Second}
	c.timer = time.AfterFunc(time.Hour, func() { fired.Add(1) })
	defer c.timer.Stop()
	t0 := time.Now()
	c.nextPing = t0.Add(time.Second)
	c.lastData = t0
	c.armedAt = t0.Add(time.Second)

	kinds := func() (pings, heartbeats int) {
		if c.b == nil {
			return 0, 0
		}
		for _, f := range c.b.vec {
			switch {
			case f[0] == finPing:
				pings++
			case bytes.Contains(f, []byte(`"type":"heartbeat"`)):
				heartbeats++
			}
		}
		c.releaseBatch()
		return pings, heartbeats
	}

	// Half an interval: nothing due; the timer keeps its time.
	c.keepalive(t0.Add(500 * time.Millisecond))
	if p, hb := kinds(); p != 0 || hb != 0 {
		t.Fatalf("at 0.5s: %d pings, %d heartbeats, want none", p, hb)
	}
	if !c.armedAt.Equal(t0.Add(time.Second)) {
		t.Fatalf("timer moved to %v", c.armedAt.Sub(t0))
	}
	// Data went out at 0.7s; at 1s a Ping is due but no heartbeat, and the
	// timer goes to the heartbeat's time, 1.7s.
	c.lastData = t0.Add(700 * time.Millisecond)
	c.keepalive(t0.Add(time.Second))
	if p, hb := kinds(); p != 1 || hb != 0 {
		t.Fatalf("at 1s: %d pings, %d heartbeats, want 1 and 0", p, hb)
	}
	if !c.armedAt.Equal(t0.Add(1700 * time.Millisecond)) {
		t.Fatalf("timer at %v, want 1.7s", c.armedAt.Sub(t0))
	}
	// Idle until 1.7s: a heartbeat, and the next Ping at 2s.
	c.keepalive(t0.Add(1700 * time.Millisecond))
	if p, hb := kinds(); p != 0 || hb != 1 {
		t.Fatalf("at 1.7s: %d pings, %d heartbeats, want 0 and 1", p, hb)
	}
	if !c.armedAt.Equal(t0.Add(2 * time.Second)) {
		t.Fatalf("timer at %v, want 2s", c.armedAt.Sub(t0))
	}
	// A coalescing window asks for an earlier time; a later one leaves the
	// timer alone.
	now := t0.Add(1800 * time.Millisecond)
	c.armAt(now, now.Add(5*time.Millisecond))
	if !c.armedAt.Equal(now.Add(5 * time.Millisecond)) {
		t.Fatalf("coalescing did not move the timer: %v", c.armedAt.Sub(t0))
	}
	c.armAt(now, now.Add(time.Second))
	if !c.armedAt.Equal(now.Add(5 * time.Millisecond)) {
		t.Fatalf("a later time moved the timer: %v", c.armedAt.Sub(t0))
	}
}

// TestEveryTimerFiringRearmsTheTimer: each firing of the timer sets it
// again, whatever the writer recorded about it, so an idle connection
// gets its Ping and heartbeat every interval. The writer's record of the
// timer's deadline (armedAt) comes from a clock reading of its own, and a
// firing can be handled before the time it records: the writer once took
// such a firing, with nothing due yet, for a timer still set, and left
// the timer unset for good; the connection got no Ping nor heartbeat and
// was closed for its keepalive two intervals after it opened.
//
// The test plays the writer's part in a synctest bubble, where the timer
// fires at exact times, and makes the first firing come early by the
// given time.
func TestEveryTimerFiringRearmsTheTimer(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	for _, early := range []time.Duration{0, time.Nanosecond, 50 * time.Microsecond, interval / 2} {
		t.Run(early.String(), func(t *testing.T) {
			t.Parallel()
			synctest.Test(t, func(t *testing.T) {
				rec := &frameRecorder{}
				c := &conn{
					h:        New(nil, Config{HeartbeatInterval: interval}),
					interval: interval,
					raw:      rec,
					wake:     make(chan struct{}, 1),
				}
				start := time.Now()
				c.begin()
				defer c.timer.Stop()
				c.timer.Reset(interval - early)

				const intervals = 5
				for time.Since(start) < intervals*interval {
					select {
					case <-c.wake:
					case <-time.After(2 * interval):
						t.Fatalf("%v after the start, the timer has not fired for two intervals: it is not set",
							time.Since(start))
					}
					if !c.serve() {
						t.Fatal("the connection ended")
					}
				}

				// A Ping and a heartbeat at each interval, and nothing else.
				var want []string
				for i := 1; i <= intervals; i++ {
					want = append(want, fmt.Sprintf("%v ping", time.Duration(i)*interval),
						fmt.Sprintf("%v heartbeat", time.Duration(i)*interval))
				}
				var got []string
				for _, f := range rec.frames {
					kind := fmt.Sprintf("%q", f.data)
					switch {
					case f.data[0] == finPing:
						kind = "ping"
					case bytes.Contains(f.data, []byte(`{"type":"heartbeat"`)):
						kind = "heartbeat"
					}
					got = append(got, fmt.Sprintf("%v %s", f.at.Sub(start), kind))
				}
				if !slices.Equal(got, want) {
					t.Errorf("frames written:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
				}
			})
		})
	}
}

// frameRecorder is the connection of a writer under test: it records each
// write, one frame each, with the time it was made. Only the writer's
// methods are implemented.
type frameRecorder struct {
	net.Conn
	frames []recordedFrame
}

type recordedFrame struct {
	at   time.Time
	data []byte
}

func (r *frameRecorder) Write(p []byte) (int, error) {
	r.frames = append(r.frames, recordedFrame{at: time.Now(), data: bytes.Clone(p)})
	return len(p), nil
}

func (r *frameRecorder) SetWriteDeadline(time.Time) error { return nil }
