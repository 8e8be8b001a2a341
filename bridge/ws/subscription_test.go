package ws

import (
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/heraldhq/herald/engine"
)

// seq returns the sequence number of a message id.
func seq(t testing.TB, id string) uint64 {
	t.Helper()
	p, err := engine.ParseID(id)
	if err != nil {
		t.Fatalf("message id %q: %v", id, err)
	}
	return p.Seq
}

// TestChangingTopicsKeepsThePosition changes the topics of a connection
// while messages are being published: the topics kept lose and repeat
// nothing, a removed topic stops, and a topic added back gets what was
// published to it after the connection's position.
func TestChangingTopicsKeepsThePosition(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=a&topic=b")
	expect(t, c, "subscribed")
	col := collect(t, c)

	var mu sync.Mutex
	published := map[string][]string{} // topic → ids, in order
	pub := func(topic string) {
		id := e.publish(t, topic, topic).ID.String()
		mu.Lock()
		published[topic] = append(published[topic], id)
		mu.Unlock()
	}
	pub("a")
	pub("b")
	waitFor(t, testTimeout, "the first messages", func() bool { return len(col.messages()) == 2 })

	var wg sync.WaitGroup
	wg.Go(func() {
		for i := range 600 {
			pub([]string{"a", "b"}[i%2])
		}
	})
	send(t, c, `{"type":"unsubscribe","topics":["b"],"id":"u"}`)
	waitFor(t, testTimeout, "the unsubscribe", func() bool { return col.count("subscribed") == 1 })
	send(t, c, `{"type":"subscribe","topics":["b"],"id":"s"}`)
	wg.Wait()
	pub("a")
	pub("b")
	waitFor(t, testTimeout, "the last messages", func() bool {
		ms := col.messages()
		return len(ms) > 0 && ms[len(ms)-1].msgID() == published["b"][len(published["b"])-1]
	})

	col.mu.Lock()
	frames := slices.Clone(col.frames)
	col.mu.Unlock()
	var (
		prev     uint64
		phase    int    // 0: a and b, 1: a only, 2: a and b again
		position uint64 // the last message before the re-subscribe
		gotA     []string
		gotB2    []string // b messages after the re-subscribe
	)
	for _, f := range frames {
		switch f.Type {
		case "subscribed":
			phase++
			if got, want := fmt.Sprint(f.Topics), map[int]string{1: "[a]", 2: "[a b]"}[phase]; got != want {
				t.Errorf("confirmation %d lists %s, want %s", phase, got, want)
			}
			if phase == 2 {
				position = prev
			}
		case "message":
			s := seq(t, f.msgID())
			if s <= prev {
				t.Fatalf("message %s after seq %d: duplicate or out of order", f.msgID(), prev)
			}
			prev = s
			switch {
			case f.Topic == "a":
				gotA = append(gotA, f.msgID())
			case phase == 1:
				t.Fatalf("b message %s after b was unsubscribed", f.msgID())
			case phase == 2:
				gotB2 = append(gotB2, f.msgID())
			}
		}
	}
	if phase != 2 {
		t.Fatalf("%d subscribed frames, want 2", phase)
	}
	if !slices.Equal(gotA, published["a"]) {
		t.Errorf("got %d a messages, want all %d, in order", len(gotA), len(published["a"]))
	}
	var wantB2 []string
	for _, id := range published["b"] {
		if seq(t, id) > position {
			wantB2 = append(wantB2, id)
		}
	}
	if !slices.Equal(gotB2, wantB2) {
		t.Errorf("after re-subscribing b got %d b messages, want the %d published after the position", len(gotB2), len(wantB2))
	}
}

func TestUnsubscribeAllAndBack(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	last := e.publish(t, "a", "1").ID.String()
	expect(t, c, "message")

	send(t, c, `{"type":"unsubscribe","topics":["a","never-subscribed"]}`)
	if f := expect(t, c, "subscribed"); len(f.Topics) != 0 || f.CurrentID != last {
		t.Fatalf("after unsubscribing everything: %s, want no topics at %s", f.raw, last)
	}
	waitFor(t, testTimeout, "the subscription gone", func() bool { return e.subscriptions(t) == 0 })
	missed := e.publish(t, "a", "2").ID.String()
	send(t, c, `{"type":"ping"}`)
	expect(t, c, "pong") // nothing was delivered meanwhile

	// Subscribing again resumes from the position: what was published
	// while unsubscribed comes now.
	send(t, c, `{"type":"subscribe","topics":["a"]}`)
	expect(t, c, "subscribed")
	if got := expect(t, c, "message").msgID(); got != missed {
		t.Fatalf("got %s, want %s", got, missed)
	}
	// Unsubscribing a topic that is not subscribed changes nothing.
	send(t, c, `{"type":"unsubscribe","topics":["zzz"],"id":1}`)
	if f := expect(t, c, "subscribed"); fmt.Sprint(f.Topics) != "[a]" {
		t.Fatalf("got %s, want the topics unchanged", f.raw)
	}
	// A subscribe frame with last_event_id moves the position back.
	send(t, c, `{"type":"subscribe","topics":["a"],"last_event_id":"`+last+`"}`)
	expect(t, c, "subscribed")
	if got := expect(t, c, "message").msgID(); got != missed {
		t.Fatalf("after moving back got %s, want %s", got, missed)
	}
	// Topics add up, in a stable order.
	send(t, c, `{"type":"subscribe","topics":["c","b","a"]}`)
	if f := expect(t, c, "subscribed"); fmt.Sprint(f.Topics) != "[a c b]" {
		t.Fatalf("got %s, want topics [a c b]", f.raw)
	}
	if got := e.subscriptions(t); got != 1 {
		t.Errorf("subscriptions gauge %v, want 1", got)
	}
}

// TestSubscribeWithoutHandshakeTopicsResumes: the handshake's
// last_event_id is the position of a connection that subscribes later.
func TestSubscribeWithoutHandshakeTopicsResumes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	first := e.publish(t, "late", "1").ID.String()
	second := e.publish(t, "late", "2").ID.String()
	c := e.dial(t, "?last_event_id="+first)
	send(t, c, `{"type":"subscribe","topics":["late"]}`)
	expect(t, c, "subscribed")
	if got := expect(t, c, "message").msgID(); got != second {
		t.Fatalf("got %s, want %s", got, second)
	}
}
