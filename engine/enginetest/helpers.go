package enginetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/topic"
)

// waitTimeout bounds every wait for an event. It is generous on purpose:
// an event that is merely late on a busy machine must not fail the suite,
// only one that never comes.
const waitTimeout = 10 * time.Second

// newEngine asks the factory for an engine and closes it when t ends.
func newEngine(t *testing.T, f Factory, cfg Config) engine.Engine {
	t.Helper()
	e := f(t, cfg)
	t.Cleanup(func() {
		if err := e.Close(); err != nil {
			t.Errorf("engine Close: %v", err)
		}
	})
	return e
}

// newPrefix returns a random topic token, so that subtests never share
// topics even on an engine that would (wrongly) share history.
func newPrefix() string {
	return fmt.Sprintf("t%012x", rand.Uint64()&(1<<48-1))
}

// patterns parses pattern strings.
func patterns(t testing.TB, ps ...string) []topic.Pattern {
	t.Helper()
	out := make([]topic.Pattern, len(ps))
	for i, p := range ps {
		pat, err := topic.ParsePattern(p)
		if err != nil {
			t.Fatalf("ParsePattern(%q): %v", p, err)
		}
		out[i] = pat
	}
	return out
}

// publish publishes data to name and fails t on error.
func publish(t testing.TB, e engine.Engine, name, data string) engine.PublishResult {
	t.Helper()
	return publishReq(t, e, engine.PublishRequest{Topic: name, Data: []byte(data)})
}

// publishReq publishes req and fails t on error.
func publishReq(t testing.TB, e engine.Engine, req engine.PublishRequest) engine.PublishResult {
	t.Helper()
	res, err := e.Publish(t.Context(), req)
	if err != nil {
		t.Fatalf("Publish(%q): %v", req.Topic, err)
	}
	if res.ID.IsZero() {
		t.Fatalf("Publish(%q) returned the zero id", req.Topic)
	}
	return res
}

// subscribe subscribes and closes the subscription when t ends.
func subscribe(t testing.TB, e engine.Engine, req engine.SubscribeRequest) engine.Subscription {
	t.Helper()
	sub, err := e.Subscribe(t.Context(), req)
	if err != nil {
		t.Fatalf("Subscribe(%v after %q): %v", req.Patterns, req.After, err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// reader hands out a subscription's events one at a time, failing the
// test when none comes within waitTimeout. Use it from the test goroutine
// only.
type reader struct {
	t   testing.TB
	sub engine.Subscription
	buf []engine.Event
}

func newReader(t testing.TB, sub engine.Subscription) *reader {
	return &reader{t: t, sub: sub}
}

// event returns the next event.
func (r *reader) event() engine.Event {
	r.t.Helper()
	if len(r.buf) == 0 {
		ctx, cancel := context.WithTimeout(r.t.Context(), waitTimeout)
		defer cancel()
		evs, err := r.sub.Next(ctx, r.buf[:0])
		if err != nil {
			r.t.Fatalf("Next: %v (waited up to %v)", err, waitTimeout)
		}
		if len(evs) == 0 {
			r.t.Fatalf("Next returned no events and no error")
		}
		r.buf = evs
	}
	ev := r.buf[0]
	r.buf = r.buf[1:]
	if (ev.Message == nil) == (ev.Gap == nil) {
		r.t.Fatalf("event %+v: exactly one of Message and Gap must be set", ev)
	}
	return ev
}

// message returns the next event, which must be a message.
func (r *reader) message() *engine.Message {
	r.t.Helper()
	ev := r.event()
	if ev.Message == nil {
		r.t.Fatalf("got gap %+v, want a message", *ev.Gap)
	}
	return ev.Message
}

// gap returns the next event, which must be a gap.
func (r *reader) gap() *engine.Gap {
	r.t.Helper()
	ev := r.event()
	if ev.Gap == nil {
		r.t.Fatalf("got message %s on %q, want a gap", ev.Message.ID, ev.Message.Topic)
	}
	return ev.Gap
}

// expect reads len(want) messages and checks they are the published ones,
// in order.
func (r *reader) expect(want ...engine.PublishResult) {
	r.t.Helper()
	for i, w := range want {
		m := r.message()
		if m.ID != w.ID {
			r.t.Fatalf("message %d: got id %s on %q, want %s", i, m.ID, m.Topic, w.ID)
		}
	}
}

// end reads until Next fails and returns its error; events still arriving
// before it are dropped. It fails the test when Next does not fail within
// waitTimeout.
func (r *reader) end() error {
	r.t.Helper()
	ctx, cancel := context.WithTimeout(r.t.Context(), waitTimeout)
	defer cancel()
	for {
		evs, err := r.sub.Next(ctx, r.buf[:0])
		if err != nil {
			if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
				r.t.Fatalf("subscription did not end within %v", waitTimeout)
			}
			r.buf = nil
			return err
		}
		r.buf = evs[:0]
	}
}

// checkMessage compares a delivered message with what was published.
func checkMessage(t testing.TB, m *engine.Message, req engine.PublishRequest, res engine.PublishResult) {
	t.Helper()
	if m.ID != res.ID {
		t.Errorf("id: got %s, want %s", m.ID, res.ID)
	}
	if m.Topic != req.Topic {
		t.Errorf("topic: got %q, want %q", m.Topic, req.Topic)
	}
	if !bytes.Equal(m.Data, req.Data) {
		t.Errorf("data: got %q, want %q", m.Data, req.Data)
	}
	if m.ContentType != req.ContentType {
		t.Errorf("content type: got %q, want %q", m.ContentType, req.ContentType)
	}
	if m.Event != req.Event {
		t.Errorf("event: got %q, want %q", m.Event, req.Event)
	}
	if m.Time.IsZero() || !m.Time.Equal(res.Time) {
		t.Errorf("time: got %v, want %v (non-zero)", m.Time, res.Time)
	}
}

// checkGap compares a gap notice with what is expected.
func checkGap(t testing.TB, got *engine.Gap, want engine.Gap) {
	t.Helper()
	if fmt.Sprint(got.Topics) != fmt.Sprint(want.Topics) || got.Requested != want.Requested ||
		got.FirstAvailable != want.FirstAvailable || got.Reason != want.Reason {
		t.Errorf("gap:\n got  {Topics:%q Requested:%s FirstAvailable:%s Reason:%s}\n want {Topics:%q Requested:%s FirstAvailable:%s Reason:%s}",
			got.Topics, got.Requested, got.FirstAvailable, got.Reason,
			want.Topics, want.Requested, want.FirstAvailable, want.Reason)
	}
}
