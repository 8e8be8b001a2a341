package memory

import (
	"bytes"
	"errors"
	"slices"
	"testing"

	"github.com/heraldhq/herald/engine"
)

func TestQueueLenBound(t *testing.T) {
	e := newTestEngine(t, Options{QueueLen: 4})
	sub := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a")})
	var rs []engine.PublishResult
	for range 4 {
		rs = append(rs, mustPublish(t, e, "a", []byte("x")))
	}
	if got := ids(next(t, sub)); !slices.Equal(got, resultIDs(rs...)) {
		t.Fatalf("a full queue: got %v, want %v", got, resultIDs(rs...))
	}
	for range 4 {
		mustPublish(t, e, "a", []byte("x"))
	}
	if st := e.stats(); st.subs != 1 {
		t.Fatalf("subscription left after exactly QueueLen events: %+v", st)
	}
	mustPublish(t, e, "a", []byte("x"))
	if err := nextErr(t, sub); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Errorf("after QueueLen+1 events: got %v, want ErrSlowConsumer", err)
	}
	if st := e.stats(); st.subs != 0 || st.entries != 0 {
		t.Errorf("overflowed subscription still indexed: %+v", st)
	}
}

func TestQueueBytesBound(t *testing.T) {
	e := newTestEngine(t, Options{QueueBytes: 100})
	byDefault := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a")})
	roomy := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a"), QueueBytes: 1000})

	var rs []engine.PublishResult
	for _, n := range []int{40, 40, 20} { // exactly 100 bytes
		rs = append(rs, mustPublish(t, e, "a", bytes.Repeat([]byte("x"), n)))
	}
	if st := e.stats(); st.subs != 2 {
		t.Fatalf("a queue of exactly QueueBytes overflowed: %+v", st)
	}
	rs = append(rs, mustPublish(t, e, "a", []byte("y")))
	if err := nextErr(t, byDefault); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Errorf("101 bytes queued: got %v, want ErrSlowConsumer", err)
	}
	if got := ids(next(t, roomy)); !slices.Equal(got, resultIDs(rs...)) {
		t.Errorf("QueueBytes override: got %v, want %v", got, resultIDs(rs...))
	}
}

func TestQueueBytesAdmitsOneLargeMessage(t *testing.T) {
	e := newTestEngine(t, Options{})
	sub := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a"), QueueBytes: 10})
	big := bytes.Repeat([]byte("z"), 50)
	for range 2 {
		r := mustPublish(t, e, "a", big)
		if got := ids(next(t, sub)); !slices.Equal(got, resultIDs(r)) {
			t.Fatalf("a message over QueueBytes into an empty queue: got %v, want %s", got, r.ID)
		}
	}
	mustPublish(t, e, "a", big)
	mustPublish(t, e, "a", big)
	if err := nextErr(t, sub); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Errorf("second large message queued: got %v, want ErrSlowConsumer", err)
	}
}

func TestReplayComesInBatchesBeforeLive(t *testing.T) {
	const n = 3*replayBatch + 7
	e := newTestEngine(t, Options{HistorySize: 2 * n, QueueLen: 4})
	first := mustPublish(t, e, "a", []byte("first"))
	var want []engine.ID
	for i := range n {
		name := []string{"a", "b.c"}[i%2]
		want = append(want, mustPublish(t, e, name, []byte("x")).ID)
	}
	sub := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a", "b.>"), After: first.ID})
	// Live messages wait behind the replay; replay does not count
	// against the live queue's bound of 4.
	for range 3 {
		want = append(want, mustPublish(t, e, "a", []byte("live")).ID)
	}
	var got []engine.ID
	for len(got) < len(want) {
		evs := next(t, sub)
		if len(evs) > replayBatch {
			t.Fatalf("one Next returned %d events, more than %d", len(evs), replayBatch)
		}
		got = append(got, ids(evs)...)
	}
	if !slices.Equal(got, want) {
		t.Errorf("replay then live: got %d ids, want %d in order", len(got), len(want))
	}
}

func TestNextAppendsToDst(t *testing.T) {
	e := newTestEngine(t, Options{})
	sub := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a")})
	r1 := mustPublish(t, e, "a", []byte("1"))
	r2 := mustPublish(t, e, "a", []byte("2"))
	keep := engine.Event{Gap: &engine.Gap{}}
	evs, err := sub.Next(t.Context(), []engine.Event{keep})
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 3 || evs[0] != keep || evs[1].Message.ID != r1.ID || evs[2].Message.ID != r2.ID {
		t.Errorf("Next(dst): got %+v, want dst followed by both messages", evs)
	}
}

func TestIndexCleanup(t *testing.T) {
	e := newTestEngine(t, Options{QueueLen: 1})
	s1 := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a", "b.*", ">")})
	s2 := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a", "b.*")})
	s3 := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("b.*", "c", "c")})
	if st := e.stats(); st.subs != 3 || st.entries != 4 || st.wild != 2 {
		t.Fatalf("after subscribing: %+v, want 3 subscriptions, 4 patterns, 2 wildcards", st)
	}
	s2.Close()
	if st := e.stats(); st.subs != 2 || st.entries != 4 || st.wild != 2 {
		t.Fatalf("after closing s2: %+v", st)
	}
	// s1 and s3 both match "b.x"; two publishes overflow both (QueueLen 1).
	mustPublish(t, e, "b.x", nil)
	mustPublish(t, e, "b.x", nil)
	if st := e.stats(); st.subs != 0 || st.entries != 0 || st.wild != 0 {
		t.Errorf("after both overflowed: %+v, want an empty index", st)
	}
	for _, s := range []engine.Subscription{s1, s3} {
		if err := nextErr(t, s); !errors.Is(err, engine.ErrSlowConsumer) {
			t.Errorf("got %v, want ErrSlowConsumer", err)
		}
	}
	s1.Close() // after an overflow: harmless, the reason stays
	if err := nextErr(t, s1); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Errorf("Close after overflow: got %v, want ErrSlowConsumer to stand", err)
	}
}

func TestManySubscriptionsLeaveInAnyOrder(t *testing.T) {
	e := newTestEngine(t, Options{})
	var subs []engine.Subscription
	for i := range 50 {
		subs = append(subs, mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a", []string{"x.*", "x.>"}[i%2])}))
	}
	order := []int{3, 0, 49, 25, 1, 48, 2}
	for _, i := range order {
		subs[i].Close()
	}
	r := mustPublish(t, e, "a", nil)
	for i, s := range subs {
		if slices.Contains(order, i) {
			continue
		}
		if got := ids(next(t, s)); !slices.Equal(got, resultIDs(r)) {
			t.Fatalf("subscription %d: got %v, want %s", i, got, r.ID)
		}
	}
	for _, s := range subs {
		s.Close()
	}
	if st := e.stats(); st.subs != 0 || st.entries != 0 || st.wild != 0 {
		t.Errorf("after closing all: %+v, want an empty index", st)
	}
}
