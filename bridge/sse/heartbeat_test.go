package sse

import (
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/heraldhq/herald/engine/memory"
)

func TestIdleStreamGetsHeartbeats(t *testing.T) {
	t.Parallel()
	for _, p := range []proto{http1, h2c} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{cfg: Config{HeartbeatInterval: 100 * time.Millisecond}, proto: p})
			s := e.open(t, "/v1/sse?topic=t", nil)
			if _, d := s.subscribed(t); d.HeartbeatInterval != "100ms" {
				t.Fatalf("heartbeat_interval %q", d.HeartbeatInterval)
			}
			for range 3 {
				f := s.next(t)
				if !f.isHeartbeat() || !slices.Contains(f.comments, "heartbeat") || f.hasID {
					t.Fatalf("got %+v, want a heartbeat comment and event without id", f)
				}
				if _, err := time.Parse(time.RFC3339, f.data); err != nil {
					t.Fatalf("heartbeat data %q: %v", f.data, err)
				}
			}
			// Traffic still flows between heartbeats.
			id := e.publish(t, "t", "x")
			s.message(t, id, "x")
		})
	}
}

func TestHeartbeatParameterIsHonouredAndClamped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{MinHeartbeat: 50 * time.Millisecond, MaxHeartbeat: time.Minute}})
	for _, tt := range []struct{ param, want string }{
		{"2s", "2s"},
		{"1ms", "50ms"},
		{"-5s", "50ms"},
		{"1h", "1m0s"},
	} {
		s := e.open(t, "/v1/sse?topic=t&heartbeat="+tt.param, nil)
		if _, d := s.subscribed(t); d.HeartbeatInterval != tt.want {
			t.Fatalf("heartbeat=%s: interval %q, want %q", tt.param, d.HeartbeatInterval, tt.want)
		}
		s.close()
	}
	// A clamped short interval is the one used.
	s := e.open(t, "/v1/sse?topic=t&heartbeat=10ms", nil)
	s.subscribed(t)
	for range 3 {
		if f := s.next(t); !f.isHeartbeat() {
			t.Fatalf("got %+v, want heartbeats", f)
		}
	}
}

// TestClockIsRearmedByTraffic runs the heartbeat clock on synctest's fake
// time: a heartbeat is due only after a full (jittered) interval without
// writes, never earlier and never later than the interval.
func TestClockIsRearmedByTraffic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const interval = 10 * time.Second
		wakes := make(chan struct{}, 1)
		c := newClock(interval, func() {
			select {
			case wakes <- struct{}{}:
			default:
			}
		})
		defer c.stop()
		start := time.Now()

		// Writes every 5s keep the heartbeat away.
		for range 4 {
			time.Sleep(5 * time.Second)
			c.wrote(time.Now())
			synctest.Wait()
			if c.woken() {
				t.Fatalf("woken %v after start with a write every 5s", time.Since(start))
			}
		}
		// Silence: the wake comes within the interval, not before 9/10 of it.
		lastWrite := time.Now()
		<-wakes
		idle := time.Since(lastWrite)
		if idle < interval*9/10 || idle > interval {
			t.Fatalf("woken after %v of silence, want within [%v, %v]", idle, interval*9/10, interval)
		}
		if !c.isDue(time.Now()) {
			t.Fatal("woken but not due")
		}

		// After a heartbeat is written the clock starts over.
		c.wrote(time.Now())
		c.rearm(time.Now())
		if c.woken() {
			t.Fatal("still woken after rearm")
		}
		time.Sleep(interval * 8 / 10)
		synctest.Wait()
		if c.woken() {
			t.Fatal("woken too early after rearm")
		}
		<-wakes
		if !c.woken() {
			t.Fatal("woken but the clock does not say so")
		}
		if idle := time.Since(lastWrite); idle > 2*interval+time.Nanosecond {
			t.Fatalf("second wake after %v", idle)
		}
	})
}

// TestWriterWithoutDeadlines serves a ResponseWriter that cannot set write
// deadlines (a recorder): the stream still works.
func TestWriterWithoutDeadlines(t *testing.T) {
	t.Parallel()
	eng := memory.New(memory.Options{})
	t.Cleanup(func() { _ = eng.Close() })
	h := New(newLocal(eng), Config{})
	req := httptest.NewRequestWithContext(t.Context(), http.MethodGet, "/v1/sse?topic=t", nil)
	rec := httptest.NewRecorder()
	done := make(chan struct{})
	go func() {
		defer close(done)
		h.ServeHTTP(rec, req)
	}()
	waitFor(t, testTimeout, "the subscription", func() bool {
		return value(t, h.m.Subscriptions) == 1
	})
	publishReq(t, eng, mustRequest("t", "hello"))
	waitFor(t, testTimeout, "the delivery", func() bool { return value(t, h.m.Delivered) == 1 })
	if err := h.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	<-done
	body := rec.Body.String()
	for _, want := range []string{"retry: 2000\n\n", "event: herald.subscribed\n", "\ndata: hello\n\n", "event: herald.error\n"} {
		if !strings.Contains(body, want) {
			t.Fatalf("body %q lacks %q", body, want)
		}
	}
}
