package enginetest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/engine"
)

// contextCancelled returns a context that is already cancelled.
func contextCancelled(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx, cancel
}

// nextResult is what a Next call running in another goroutine returned.
type nextResult struct {
	evs []engine.Event
	err error
}

// nextAsync calls sub.Next(ctx) in a goroutine and reports its result.
func nextAsync(ctx context.Context, sub engine.Subscription) <-chan nextResult {
	ch := make(chan nextResult, 1)
	go func() {
		evs, err := sub.Next(ctx, nil)
		ch <- nextResult{evs, err}
	}()
	return ch
}

// await waits for a nextAsync result.
func await(t *testing.T, ch <-chan nextResult) nextResult {
	t.Helper()
	select {
	case r := <-ch:
		return r
	case <-time.After(waitTimeout):
		t.Fatalf("Next did not return within %v", waitTimeout)
		return nextResult{}
	}
}

// testSlowConsumer: a subscription that stops reading ends with
// ErrSlowConsumer, while publishers and another subscription go on
// unharmed; the slow one can resume from where it was.
func testSlowConsumer(t *testing.T, f Factory) {
	const n = 100
	e := newEngine(t, f, Config{HistorySize: 1000, QueueLen: 8})
	p := newPrefix()
	before := publish(t, e, p+".a", "before")
	slow := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	fast := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a"), QueueLen: 10 * n})
	if slow.Position() != before.ID {
		t.Fatalf("Position: got %s, want %s", slow.Position(), before.ID)
	}

	var res []engine.PublishResult
	for range n {
		res = append(res, publish(t, e, p+".a", "x")) // must not block on slow
	}
	newReader(t, fast).expect(res...)
	if err := newReader(t, slow).end(); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Fatalf("slow subscription: got %v, want ErrSlowConsumer", err)
	}

	resumed := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a"), After: slow.Position(), QueueLen: 10 * n})
	newReader(t, resumed).expect(res...)
}

// testSlowConsumerQueueOverride: SubscribeRequest.QueueLen overrides the
// engine's default bound.
func testSlowConsumerQueueOverride(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{QueueLen: 10000})
	p := newPrefix()
	slow := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a"), QueueLen: 4})
	fast := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	var res []engine.PublishResult
	for range 50 {
		res = append(res, publish(t, e, p+".a", "x"))
	}
	if err := newReader(t, slow).end(); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Fatalf("subscription with QueueLen 4: got %v, want ErrSlowConsumer", err)
	}
	newReader(t, fast).expect(res...)
}

// testEngineClose: Close ends every subscription with ErrClosed, refuses
// later calls and is idempotent.
func testEngineClose(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	waiting := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	queued := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".>")})
	publish(t, e, p+".b", "queued")
	blocked := nextAsync(t.Context(), waiting)

	if err := e.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if r := await(t, blocked); !errors.Is(r.err, engine.ErrClosed) {
		t.Errorf("blocked Next after Close: got %v, want ErrClosed", r.err)
	}
	if err := newReader(t, queued).end(); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Next after Close: got %v, want ErrClosed", err)
	}
	if _, err := e.Publish(t.Context(), engine.PublishRequest{Topic: p + ".a"}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Publish after Close: got %v, want ErrClosed", err)
	}
	if _, err := e.Subscribe(t.Context(), engine.SubscribeRequest{Patterns: patterns(t, p+".a")}); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Subscribe after Close: got %v, want ErrClosed", err)
	}
	if err := e.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	waiting.Close() // closing a subscription of a closed engine is harmless
}

// testSubscriptionClose: Close ends one subscription with
// ErrSubscriptionClosed, wakes a blocked Next, is idempotent, and leaves
// other subscriptions alone.
func testSubscriptionClose(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	waiting := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	queued := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	other := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	blocked := nextAsync(t.Context(), waiting)

	first := publish(t, e, p+".a", "1")
	if r := await(t, blocked); r.err != nil || len(r.evs) == 0 || r.evs[0].Message == nil || r.evs[0].Message.ID != first.ID {
		t.Fatalf("blocked Next: got %+v, want message %s", r, first.ID)
	}
	blocked = nextAsync(t.Context(), waiting)
	waiting.Close()
	if r := await(t, blocked); !errors.Is(r.err, engine.ErrSubscriptionClosed) {
		t.Errorf("blocked Next after Close: got %v, want ErrSubscriptionClosed", r.err)
	}
	waiting.Close()
	if _, err := waiting.Next(t.Context(), nil); !errors.Is(err, engine.ErrSubscriptionClosed) {
		t.Errorf("Next after a second Close: got %v, want ErrSubscriptionClosed", err)
	}

	queued.Close()
	if _, err := queued.Next(t.Context(), nil); !errors.Is(err, engine.ErrSubscriptionClosed) {
		t.Errorf("Next on a closed subscription with queued events: got %v, want ErrSubscriptionClosed", err)
	}

	second := publish(t, e, p+".a", "2")
	newReader(t, other).expect(first, second)
}

// testNextContext: Next returns the context's error, leaves dst as it was,
// and the subscription goes on working afterwards.
func testNextContext(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	sentinel := engine.Event{Gap: &engine.Gap{Reason: engine.GapTruncated}}

	cancelled, cancel := contextCancelled(t)
	defer cancel()
	dst, err := sub.Next(cancelled, []engine.Event{sentinel})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Next with a cancelled context: got %v, want context.Canceled", err)
	}
	if len(dst) != 1 || dst[0] != sentinel {
		t.Errorf("Next changed dst on error: %+v", dst)
	}

	short, cancelShort := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancelShort()
	if _, err := sub.Next(short, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Next past a deadline: got %v, want context.DeadlineExceeded", err)
	}

	ctx, stop := context.WithCancel(t.Context())
	blocked := nextAsync(ctx, sub)
	stop()
	if r := await(t, blocked); !errors.Is(r.err, context.Canceled) {
		t.Errorf("blocked Next after cancel: got %v, want context.Canceled", r.err)
	}

	res := publish(t, e, p+".a", "still there")
	newReader(t, sub).expect(res)
}

// readyWithin waits for a value on sub's Ready channel.
func readyWithin(t *testing.T, sub engine.Subscription, what string) {
	t.Helper()
	select {
	case <-sub.Ready():
	case <-time.After(waitTimeout):
		t.Fatalf("Ready gave nothing within %v after %s", waitTimeout, what)
	}
}

// testTryNext: TryNext hands out what is ready without waiting, nothing
// (and no error) when nothing is; Ready signals a message published
// while the reader waits and the end of the subscription; a reader
// polling with TryNext and waiting on Ready gets every message, in
// order.
func testTryNext(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	if ready := sub.Ready(); ready != sub.Ready() {
		t.Fatal("Ready returned different channels")
	}
	sentinel := engine.Event{Gap: &engine.Gap{Reason: engine.GapTruncated}}
	dst, err := sub.TryNext([]engine.Event{sentinel})
	if err != nil || len(dst) != 1 || dst[0] != sentinel {
		t.Fatalf("TryNext with nothing ready: got %+v, %v; want dst unchanged and no error", dst, err)
	}

	// A reader waiting on Ready gets every message, whatever the timing.
	const n = 50
	want := make([]engine.PublishResult, 0, n)
	done := make(chan []engine.ID, 1)
	go func() {
		var got []engine.ID
		for len(got) < n {
			evs, err := sub.TryNext(nil)
			if err != nil {
				break
			}
			for _, ev := range evs {
				if ev.Message != nil {
					got = append(got, ev.Message.ID)
				}
			}
			if len(evs) == 0 {
				select {
				case <-sub.Ready():
				case <-time.After(waitTimeout):
					done <- got
					return
				}
			}
		}
		done <- got
	}()
	for i := range n {
		want = append(want, publish(t, e, p+".a", "m"))
		if i%7 == 0 {
			time.Sleep(time.Millisecond) // let the reader catch up and wait
		}
	}
	got := <-done
	if len(got) != n {
		t.Fatalf("the polling reader got %d messages, want %d", len(got), n)
	}
	for i, id := range got {
		if id != want[i].ID {
			t.Fatalf("message %d: got %s, want %s", i, id, want[i].ID)
		}
	}

	// Ready signals the end; TryNext then reports it.
	sub.Close()
	readyWithin(t, sub, "Close")
	if _, err := sub.TryNext(nil); !errors.Is(err, engine.ErrSubscriptionClosed) {
		t.Errorf("TryNext after Close: got %v, want ErrSubscriptionClosed", err)
	}
	other := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	readyWithin(t, other, "the engine's Close")
	if _, err := other.TryNext(nil); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("TryNext after the engine's Close: got %v, want ErrClosed", err)
	}
}

// postponer is an engine.Postponer that reports every call with its
// Waker, and takes the wake-ups over while take is set.
type postponer struct {
	take  atomic.Bool
	calls chan engine.Waker
}

func (p *postponer) Postpone(w engine.Waker) bool {
	p.calls <- w
	return p.take.Load()
}

// called waits for the next call of p and returns its Waker.
func (p *postponer) called(t *testing.T, what string) engine.Waker {
	t.Helper()
	select {
	case w := <-p.calls:
		return w
	case <-time.After(waitTimeout):
		t.Fatalf("Postpone was not called within %v after %s", waitTimeout, what)
		return nil
	}
}

// quiet checks, after a moment for a delivery under way, that neither
// sub's Ready nor p had a call.
func (p *postponer) quiet(t *testing.T, sub engine.Subscription, what string) {
	t.Helper()
	time.Sleep(20 * time.Millisecond)
	select {
	case <-sub.Ready():
		t.Fatalf("Ready gave a value %s", what)
	case <-p.calls:
		t.Fatalf("Postpone was called %s", what)
	default:
	}
}

// testPostponer: a Postponer set on a subscription decides when its
// reader wakes for messages arriving on an empty queue (it is asked once
// per such arrival, not for each message that joins them) and wakes it
// through the Waker it is given; one that declines has the reader woken
// at once, as has no Postponer; the end of the subscription wakes the
// reader at once regardless.
func testPostponer(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	post := &postponer{calls: make(chan engine.Waker, 8)}
	post.take.Store(true)
	sub.SetPostponer(post)
	r := newReader(t, sub)

	first := publish(t, e, p+".a", "1")
	w := post.called(t, "a message on an empty queue")
	second := publish(t, e, p+".a", "2")
	post.quiet(t, sub, "while the wake-up was postponed")
	w.Wake()
	readyWithin(t, sub, "the postponer's Wake")
	r.expect(first, second)

	post.take.Store(false)
	third := publish(t, e, p+".a", "3")
	post.called(t, "a message on a queue emptied since")
	readyWithin(t, sub, "a wake-up the postponer declined")
	r.expect(third)

	sub.SetPostponer(nil)
	fourth := publish(t, e, p+".a", "4")
	readyWithin(t, sub, "a message with no postponer")
	r.expect(fourth)
	post.quiet(t, sub, "after the postponer was removed")

	post.take.Store(true)
	sub.SetPostponer(post)
	sub.Close()
	readyWithin(t, sub, "Close")
	post.quiet(t, sub, "for the end")
}
