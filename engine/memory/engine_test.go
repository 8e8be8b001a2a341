package memory

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/topic"
)

func TestCloseIdempotentAndConcurrent(t *testing.T) {
	e := New(Options{JanitorInterval: time.Millisecond})
	sub := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a")})
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := e.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
	}
	wg.Wait()
	select {
	case <-e.janitorDone:
	default:
		t.Errorf("Close returned before the janitor stopped")
	}
	if err := e.Close(); err != nil {
		t.Errorf("Close after Close: %v", err)
	}
	if err := nextErr(t, sub); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Next: got %v, want ErrClosed", err)
	}
	sub.Close()
	if err := nextErr(t, sub); !errors.Is(err, engine.ErrClosed) {
		t.Errorf("Close after the engine closed: got %v, want ErrClosed to stand", err)
	}
}

func TestCloseRacesPublishAndSubscribe(t *testing.T) {
	e := New(Options{})
	ctx := context.Background()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for {
				if _, err := e.Publish(ctx, engine.PublishRequest{Topic: "a"}); err != nil {
					if !errors.Is(err, engine.ErrClosed) {
						t.Errorf("Publish: %v", err)
					}
					return
				}
			}
		})
		wg.Go(func() {
			for {
				sub, err := e.Subscribe(ctx, engine.SubscribeRequest{Patterns: pats("a", ">")})
				if err != nil {
					if !errors.Is(err, engine.ErrClosed) {
						t.Errorf("Subscribe: %v", err)
					}
					return
				}
				if _, err := sub.Next(ctx, nil); err != nil && !errors.Is(err, engine.ErrClosed) && !errors.Is(err, engine.ErrSlowConsumer) {
					t.Errorf("Next: %v", err)
				}
				sub.Close()
			}
		})
	}
	waitFor(t, 10*time.Second, "some traffic", func() bool {
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.seq > 100
	})
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
}

func TestSubscribeRefusesBadPatterns(t *testing.T) {
	e := newTestEngine(t, Options{})
	for _, req := range []engine.SubscribeRequest{
		{},
		{Patterns: []topic.Pattern{}},
		{Patterns: []topic.Pattern{topic.MustParsePattern("a"), {}}},
	} {
		if _, err := e.Subscribe(t.Context(), req); !errors.Is(err, topic.ErrInvalid) {
			t.Errorf("Subscribe(%v): got %v, want topic.ErrInvalid", req.Patterns, err)
		}
	}
	if st := e.stats(); st.subs != 0 {
		t.Errorf("refused subscriptions were registered: %+v", st)
	}
}

func TestPositionAndEpoch(t *testing.T) {
	e := newTestEngine(t, Options{})
	if got := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a")}).Position(); got.IsZero() || got.Seq != 0 {
		t.Errorf("Position of an empty engine: %s, want the epoch's start (seq 0)", got)
	}
	r := mustPublish(t, e, "b", nil)
	if r.ID.Epoch != e.epoch || r.ID.Seq != 1 {
		t.Errorf("first id %+v, want epoch %x seq 1", r.ID, e.epoch)
	}
	if got := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a")}).Position(); got != r.ID {
		t.Errorf("Position: %s, want %s (the newest id of any topic)", got, r.ID)
	}
}

func TestOptionsDefaults(t *testing.T) {
	o := Options{}.withDefaults()
	if o.HistorySize != DefaultHistorySize || o.HistoryTTL != DefaultHistoryTTL || o.QueueLen != DefaultQueueLen ||
		o.QueueBytes != DefaultQueueBytes || o.JanitorInterval != time.Second || o.Now == nil {
		t.Errorf("zero Options: got %+v", o)
	}
	for _, tc := range []struct {
		ttl, want time.Duration
	}{
		{10 * time.Minute, time.Second},
		{2 * time.Second, 500 * time.Millisecond},
		{20 * time.Millisecond, 10 * time.Millisecond},
	} {
		if got := (Options{HistoryTTL: tc.ttl}).withDefaults().JanitorInterval; got != tc.want {
			t.Errorf("janitor interval for TTL %v: got %v, want %v", tc.ttl, got, tc.want)
		}
	}
	if got := (Options{HistoryTTL: time.Hour, JanitorInterval: 3 * time.Millisecond}).withDefaults().JanitorInterval; got != 3*time.Millisecond {
		t.Errorf("explicit janitor interval: got %v", got)
	}
	if got := (Options{HistorySize: -1, QueueLen: -5}).withDefaults(); got.HistorySize != DefaultHistorySize || got.QueueLen != DefaultQueueLen {
		t.Errorf("negative sizes: got %+v, want defaults", got)
	}
}

func TestHistoryBufferStaysBounded(t *testing.T) {
	const size = 100
	ts := newTopicState("a")
	for seq := uint64(1); seq <= 100*size; seq++ {
		key := ""
		if seq%3 == 0 {
			key = "k" + string(rune('a'+seq%26))
		}
		ts.push(&engine.Message{ID: engine.ID{Epoch: 1, Seq: seq}}, key)
		ts.trim(size)
		if c := cap(ts.buf); c > 4*size {
			t.Fatalf("after %d pushes the buffer holds %d entries for %d retained", seq, c, size)
		}
	}
	r := ts.retained()
	if len(r) != size || r[0].msg.ID.Seq != 99*size+1 || r[size-1].msg.ID.Seq != 100*size {
		t.Fatalf("retained %d messages from %d, want the newest %d", len(r), r[0].msg.ID.Seq, size)
	}
	for i := 1; i < len(r); i++ {
		if r[i].msg.ID.Seq != r[i-1].msg.ID.Seq+1 {
			t.Fatalf("history out of order at %d", i)
		}
	}
	if ts.evictedUpTo != 99*size {
		t.Errorf("evictedUpTo %d, want %d", ts.evictedUpTo, 99*size)
	}
	for k, m := range ts.keys {
		if m.ID.Seq <= ts.evictedUpTo {
			t.Errorf("key %q still maps to evicted message %s", k, m.ID)
		}
	}
	if got := ts.after(100*size - 3); len(got) != 3 {
		t.Errorf("after: %d messages, want 3", len(got))
	}
}
