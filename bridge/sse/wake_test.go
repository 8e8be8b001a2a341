package sse

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/metrics"
)

// silentSubscription never has events; its Ready channel gets a token
// only from Wake.
type silentSubscription struct{ ready chan struct{} }

func (s *silentSubscription) Subscribed() bridge.Subscribed {
	return bridge.Subscribed{Topics: []string{"t"}, CurrentID: engine.ID{Epoch: 1}.String()}
}

func (s *silentSubscription) TryNext(dst []engine.Event) ([]engine.Event, error) { return dst, nil }

func (s *silentSubscription) Next(ctx context.Context, dst []engine.Event) ([]engine.Event, error) {
	<-ctx.Done()
	return dst, ctx.Err()
}

func (s *silentSubscription) Ready() <-chan struct{} { return s.ready }

func (s *silentSubscription) Wake() {
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (s *silentSubscription) Close() {}

// SetPostponer has nothing to do: no event ever arrives.
func (s *silentSubscription) SetPostponer(engine.Postponer) {}

// TestRelayDoesNotWaitPastAPendingWake: a wake whose token on the Ready
// channel was taken along with events (TryNext drains the token with the
// queue) is still seen: the relay asks the stream's context and its
// heartbeat clock before it waits on a channel that will not wake it.
func TestRelayDoesNotWaitPastAPendingWake(t *testing.T) {
	t.Parallel()
	h := New(nil, Config{Metrics: metrics.New()})
	newRelay := func(ctx context.Context) (*stream, *silentSubscription, *httptest.ResponseRecorder) {
		sub := &silentSubscription{ready: make(chan struct{}, 1)}
		rec := httptest.NewRecorder()
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, "/v1/sse?topic=t", nil)
		s := newStream(h, rec, req, ctx, sub, params{topics: []string{"t"}, heartbeat: time.Hour})
		// The clock's wake goes nowhere: its token is taken as soon as left.
		s.clock = newClock(time.Hour, func() {})
		t.Cleanup(s.clock.stop)
		return s, sub, rec
	}
	relay := func(s *stream) <-chan bool {
		out := make(chan bool, 1)
		go func() { out <- s.relay() }()
		return out
	}

	// The stream's context ended (Shutdown): the relay ends the stream
	// with going_away rather than waiting.
	ctx, cancel := context.WithCancelCause(t.Context())
	cancel(errGoingAway)
	s, _, rec := newRelay(ctx)
	select {
	case goesOn := <-relay(s):
		if goesOn {
			t.Fatal("the relay went on after the stream's context ended")
		}
	case <-time.After(testTimeout):
		t.Fatal("the stream's context had ended: the relay waited on Ready regardless")
	}
	if body := rec.Body.String(); !strings.Contains(body, `"going_away"`) {
		t.Fatalf("the stream ended with %q, want a going_away error event", body)
	}

	// The heartbeat clock fired: the relay takes the wake (and re-arms the
	// clock) rather than waiting.
	live, stop := context.WithCancelCause(t.Context())
	s, sub, _ := newRelay(live)
	s.clock.fired.Store(true)
	done := relay(s)
	waitFor(t, testTimeout, "the relay to take the clock's wake", func() bool { return !s.clock.woken() })
	stop(errGoingAway)
	sub.Wake()
	if goesOn := <-done; goesOn {
		t.Fatal("the relay went on after the stream's context ended")
	}
}
