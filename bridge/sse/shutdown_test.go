package sse

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/heraldhq/herald/engine/memory"
	"github.com/heraldhq/herald/metrics"
)

// wantGoingAway checks that the stream's remaining frames end with the
// going_away error event and its spread retry hint.
func wantGoingAway(t testing.TB, s *eventStream, retry time.Duration) {
	t.Helper()
	frames := s.ended(t)
	if len(frames) == 0 {
		t.Fatal("the stream ended without an error event")
	}
	last := frames[len(frames)-1]
	var ed errorData
	if last.event != eventError || json.Unmarshal([]byte(last.data), &ed) != nil || ed.Code != "going_away" {
		t.Fatalf("last frame %+v, want herald.error going_away", last)
	}
	ms, err := strconv.Atoi(last.retry)
	if err != nil || ms < int(retry.Milliseconds()) || ms > int(2*retry.Milliseconds()) {
		t.Fatalf("going_away retry %q, want between %v and %v", last.retry, retry, 2*retry)
	}
}

func TestShutdownSendsGoingAway(t *testing.T) {
	t.Parallel()
	for _, p := range []proto{http1, h2c, h2tls} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{cfg: Config{Retry: time.Second}, proto: p})
			a := e.open(t, "/v1/sse?topic=t", nil)
			a.subscribed(t)
			b := e.open(t, "/v1/sse?topic=u&envelope=1", nil)
			b.subscribed(t)
			waitFor(t, testTimeout, "both streams", func() bool { return e.subscriptions(t) == 2 })

			ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
			defer cancel()
			if err := e.h.Shutdown(ctx); err != nil {
				t.Fatalf("Shutdown: %v", err)
			}
			if n := e.subscriptions(t); n != 0 {
				t.Fatalf("%v subscriptions after Shutdown returned", n)
			}
			wantGoingAway(t, a, time.Second)
			wantGoingAway(t, b, time.Second)
			e.refused(t, "/v1/sse?topic=t", nil, http.StatusServiceUnavailable, "shutting down")
			if err := e.h.Shutdown(ctx); err != nil {
				t.Fatalf("second Shutdown: %v", err)
			}
		})
	}
}

func TestShutdownIsBoundedByItsContext(t *testing.T) {
	t.Parallel()
	// A handler that has entered but cannot finish: its client is the one
	// holding it, through a source that never answers.
	block := make(chan struct{})
	h := New(blockingSource{release: block}, Config{Metrics: metrics.New()})
	base, client := serve(t, h, http1, nil)
	reqCtx, cancelReq := context.WithCancel(t.Context())
	defer cancelReq()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, base+"/v1/sse?topic=t", nil)
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		resp, err := client.Do(req)
		if err == nil {
			_ = resp.Body.Close()
		}
	}()
	waitFor(t, testTimeout, "the handler to enter", func() bool {
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.active == 1
	})
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if err := h.Shutdown(ctx); err != context.DeadlineExceeded {
		t.Fatalf("Shutdown with a stuck handler: %v, want DeadlineExceeded", err)
	}
	close(block)
	if err := h.Shutdown(t.Context()); err != nil {
		t.Fatalf("Shutdown after the handler was released: %v", err)
	}
}

func TestClientsResumeOnARestartedNode(t *testing.T) {
	t.Parallel()
	first := newEnv(t, envOptions{cfg: Config{Retry: 100 * time.Millisecond}})
	s := first.open(t, "/v1/sse?topic=t", nil)
	s.subscribed(t)
	before := first.publish(t, "t", "before")
	last := s.message(t, before, "before").id

	if err := first.h.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantGoingAway(t, s, 100*time.Millisecond)
	_ = first.eng.Close()

	// The node comes back with a new history; messages are published
	// before the client is back.
	second := newEnv(t, envOptions{engine: memory.Options{}})
	after := []string{"after 1", "after\n2"}
	var ids []string
	for _, d := range after {
		ids = append(ids, second.publish(t, "t", d).String())
	}

	s = second.open(t, "/v1/sse?topic=t", http.Header{"Last-Event-Id": {last}})
	if f, _ := s.subscribed(t); f.hasID {
		t.Fatalf("resumed subscribed %+v has an id", f)
	}
	f := s.event(t)
	var gap gapData
	if f.event != eventGap || json.Unmarshal([]byte(f.data), &gap) != nil ||
		gap.Reason != "REASON_EPOCH_CHANGED" || gap.RequestedID != last || gap.FirstAvailableID != ids[0] {
		t.Fatalf("got %+v (%+v), want an epoch-changed gap from %s", f, gap, last)
	}
	for i, d := range after {
		if f := s.event(t); f.id != ids[i] || f.data != d {
			t.Fatalf("replay %d: %+v, want %s %q", i, f, ids[i], d)
		}
	}
}

// TestShutdownWithNothingToWaitForSucceeds: a handler with no streams has
// drained, so Shutdown reports success even when its context has ended
// too (both are ready at once; drained must win every time).
func TestShutdownWithNothingToWaitForSucceeds(t *testing.T) {
	t.Parallel()
	eng := memory.New(memory.Options{})
	t.Cleanup(func() { _ = eng.Close() })
	h := New(newLocal(eng), Config{Metrics: metrics.New()})
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	for i := range 100 {
		if err := h.Shutdown(ended); err != nil {
			t.Fatalf("Shutdown %d with no streams and an ended context: %v", i, err)
		}
	}
}
