package memory

import (
	"context"
	"github.com/heraldhq/herald/internal/testutil"
	"testing"
	"time"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/topic"
)

// newFakeClock returns a clock that moves only when told to.
func newFakeClock() *testutil.Clock {
	return testutil.NewClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
}

// newTestEngine returns an engine closed when t ends.
func newTestEngine(t *testing.T, opts Options) *Engine {
	t.Helper()
	e := New(opts)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

// waitFor polls cond until it holds or timeout passes.
var waitFor = testutil.WaitFor

// engineStats is a snapshot of an engine's internal bookkeeping.
type engineStats struct {
	topics, retained, idle, heap int
	subs, entries, wild          int
	forgottenUpTo                uint64
}

func (e *Engine) stats() engineStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	st := engineStats{
		topics:        len(e.topics),
		idle:          len(e.idle),
		heap:          len(e.expiry),
		subs:          len(e.subs),
		entries:       len(e.index.entries),
		wild:          e.index.wild,
		forgottenUpTo: e.forgottenUpTo,
	}
	for _, ts := range e.topics {
		st.retained += ts.len()
	}
	return st
}

// hasTopic reports whether the engine still knows the topic name.
func (e *Engine) hasTopic(name string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.topics[name] != nil
}

func mustPublish(t testing.TB, e *Engine, name string, data []byte) engine.PublishResult {
	t.Helper()
	return mustPublishReq(t, e, engine.PublishRequest{Topic: name, Data: data})
}

func mustPublishReq(t testing.TB, e *Engine, req engine.PublishRequest) engine.PublishResult {
	t.Helper()
	res, err := e.Publish(context.Background(), req)
	if err != nil {
		t.Fatalf("Publish(%q): %v", req.Topic, err)
	}
	return res
}

func mustSubscribe(t testing.TB, e *Engine, req engine.SubscribeRequest) engine.Subscription {
	t.Helper()
	sub, err := e.Subscribe(context.Background(), req)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	t.Cleanup(sub.Close)
	return sub
}

func pats(ps ...string) []topic.Pattern {
	out := make([]topic.Pattern, len(ps))
	for i, p := range ps {
		out[i] = topic.MustParsePattern(p)
	}
	return out
}

// next returns the events of one Next call, failing t on error or after
// a generous timeout.
func next(t testing.TB, sub engine.Subscription) []engine.Event {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := sub.Next(ctx, nil)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return evs
}

// nextErr returns the error of one Next call that must fail at once.
func nextErr(t testing.TB, sub engine.Subscription) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	evs, err := sub.Next(ctx, nil)
	if err == nil {
		t.Fatalf("Next: got %d events, want an error", len(evs))
	}
	return err
}

// ids returns the message ids of evs; a gap shows as the zero id.
func ids(evs []engine.Event) []engine.ID {
	out := make([]engine.ID, len(evs))
	for i, ev := range evs {
		if ev.Message != nil {
			out[i] = ev.Message.ID
		}
	}
	return out
}

func resultIDs(rs ...engine.PublishResult) []engine.ID {
	out := make([]engine.ID, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}
