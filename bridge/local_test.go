package bridge

import (
	"context"
	"errors"
	"testing"

	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
)

func TestLocalSourceRefusesBadRequests(t *testing.T) {
	t.Parallel()
	eng := memory.New(memory.Options{})
	t.Cleanup(func() { _ = eng.Close() })
	src := NewLocalSource(eng, LocalConfig{})
	ctx := testContext(t)
	publish(t, eng, "a", "x")

	for _, tt := range []struct {
		name string
		req  Request
		msg  string
	}{
		{"no topic", Request{}, "topics: at least one topic is required"},
		{"bad topic", Request{Topics: []string{"ok", "a b"}}, "topics[1]: "},
		{"bad id", Request{Topics: []string{"a"}, LastEventID: "x"}, `last_event_id "x" is not a message id`},
	} {
		_, err := src.Subscribe(ctx, tt.req)
		wantCode(t, err, codes.InvalidArgument, tt.msg)
	}

	// An id of this epoch beyond the newest message was never handed out.
	sub, err := src.Subscribe(ctx, Request{Topics: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	cur, _ := engine.ParseID(sub.Subscribed().CurrentID)
	sub.Close()
	future := engine.ID{Epoch: cur.Epoch, Seq: cur.Seq + 5}.String()
	_, err = src.Subscribe(ctx, Request{Topics: []string{"a"}, LastEventID: future})
	wantCode(t, err, codes.InvalidArgument, "is ahead of the stream: no message with that id has been published")

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = src.Subscribe(cancelled, Request{Topics: []string{"a"}})
	wantCode(t, err, codes.Canceled, "")

	_ = eng.Close()
	_, err = src.Subscribe(ctx, Request{Topics: []string{"a"}})
	wantCode(t, err, codes.Unavailable, "shutting down")
}

func TestLocalSourceSharesTheEnginesMessages(t *testing.T) {
	t.Parallel()
	eng := memory.New(memory.Options{})
	t.Cleanup(func() { _ = eng.Close() })
	src := NewLocalSource(eng, LocalConfig{})
	ctx := testContext(t)
	before := publish(t, eng, "news", "old")

	a, err := src.Subscribe(ctx, Request{Topics: []string{"news", "news", "sport.>"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := src.Subscribe(ctx, Request{Topics: []string{"news"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	got := a.Subscribed()
	if len(got.Topics) != 2 || got.Topics[0] != "news" || got.Topics[1] != "sport.>" || got.CurrentID != before.String() {
		t.Fatalf("Subscribed = %+v, want de-duplicated topics at %s", got, before)
	}

	id := publish(t, eng, "news", "fresh")
	ma, mb := nextEvents(t, a)[0].Message, nextEvents(t, b)[0].Message
	if ma == nil || ma != mb || ma.ID != id || string(ma.Data) != "fresh" {
		t.Fatalf("subscriptions got %p and %p, want one shared message %s", ma, mb, id)
	}
}

func TestLocalSourceReplaysAndEndsSlowConsumers(t *testing.T) {
	t.Parallel()
	eng := memory.New(memory.Options{HistorySize: 2})
	t.Cleanup(func() { _ = eng.Close() })
	src := NewLocalSource(eng, LocalConfig{QueueLen: 2})
	ctx := testContext(t)
	first := publish(t, eng, "t", "1")
	publish(t, eng, "t", "2")
	third := publish(t, eng, "t", "3")

	sub, err := src.Subscribe(ctx, Request{Topics: []string{"t"}, LastEventID: first.String()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	evs := collect(t, sub, 2)
	if evs[0].Message == nil || string(evs[0].Message.Data) != "2" || evs[1].Message.ID != third {
		t.Fatalf("replay = %+v", evs)
	}

	for i := range 3 {
		publish(t, eng, "t", string(rune('a'+i)))
	}
	if err := nextError(t, sub); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Fatalf("Next after an overflow: %v, want ErrSlowConsumer", err)
	}
}
