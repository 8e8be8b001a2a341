package enginetest

import (
	"errors"
	"testing"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/topic"
)

// testPublishSubscribe: a subscriber receives what is published, every
// field intact, and Position reports the newest id.
func testPublishSubscribe(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	if pos := sub.Position(); pos.IsZero() || pos.Seq != 0 {
		t.Errorf("Position of a fresh engine: got %s, want the epoch's start (seq 0)", pos)
	}

	reqs := []engine.PublishRequest{
		{Topic: p + ".a", Data: []byte(`{"n":1}`), ContentType: "application/json", Event: "created"},
		{Topic: p + ".a", Data: []byte("two\nlines"), ContentType: "text/plain"},
		{Topic: p + ".a"}, // an empty payload is a message too
	}
	var res []engine.PublishResult
	for _, req := range reqs {
		r := publishReq(t, e, req)
		if r.Duplicate {
			t.Errorf("Publish without an idempotency key reported a duplicate")
		}
		if len(res) > 0 && (r.ID.Epoch != res[0].ID.Epoch || !res[len(res)-1].ID.Less(r.ID)) {
			t.Errorf("ids not increasing: %s after %s", r.ID, res[len(res)-1].ID)
		}
		res = append(res, r)
	}
	rd := newReader(t, sub)
	for i, req := range reqs {
		checkMessage(t, rd.message(), req, res[i])
	}

	later := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	if got, want := later.Position(), res[len(res)-1].ID; got != want {
		t.Errorf("Position: got %s, want the newest id %s", got, want)
	}
}

// testInvalidInput: bad topics and empty subscriptions are refused with
// errors wrapping topic.ErrInvalid, and cancelled contexts are honoured.
func testInvalidInput(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	for _, name := range []string{"", "a..b", ".a", "a.", "a.*", "a.>", "a b", "a/b", "ä"} {
		if _, err := e.Publish(t.Context(), engine.PublishRequest{Topic: name, Data: []byte("x")}); !errors.Is(err, topic.ErrInvalid) {
			t.Errorf("Publish(%q): got %v, want topic.ErrInvalid", name, err)
		}
	}
	if _, err := e.Subscribe(t.Context(), engine.SubscribeRequest{}); !errors.Is(err, topic.ErrInvalid) {
		t.Errorf("Subscribe with no patterns: got %v, want topic.ErrInvalid", err)
	}
	if _, err := e.Subscribe(t.Context(), engine.SubscribeRequest{Patterns: []topic.Pattern{{}}}); !errors.Is(err, topic.ErrInvalid) {
		t.Errorf("Subscribe with a zero pattern: got %v, want topic.ErrInvalid", err)
	}

	ctx, cancel := contextCancelled(t)
	defer cancel()
	if _, err := e.Publish(ctx, engine.PublishRequest{Topic: newPrefix()}); !errors.Is(err, ctx.Err()) {
		t.Errorf("Publish with a cancelled context: got %v, want %v", err, ctx.Err())
	}
	if _, err := e.Subscribe(ctx, engine.SubscribeRequest{Patterns: patterns(t, newPrefix())}); !errors.Is(err, ctx.Err()) {
		t.Errorf("Subscribe with a cancelled context: got %v, want %v", err, ctx.Err())
	}
}

// testOneOrder: messages to different topics share one order, seq growing
// by one per message, and a subscriber to all of them sees that order.
func testOneOrder(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".>")})
	names := []string{p + ".a", p + ".b.c", p + ".d"}
	var res []engine.PublishResult
	for i := range 30 {
		r := publish(t, e, names[i%len(names)], "x")
		if len(res) > 0 {
			prev := res[len(res)-1].ID
			if r.ID.Epoch != prev.Epoch || r.ID.Seq != prev.Seq+1 {
				t.Fatalf("id %s does not follow %s by one", r.ID, prev)
			}
		}
		res = append(res, r)
	}
	newReader(t, sub).expect(res...)
}

// testWildcards: `*` matches one token, `>` one or more trailing ones, and
// a message matching several patterns of one subscription arrives once.
func testWildcards(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p, other := newPrefix(), newPrefix()
	subA := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".*.x", p+".>")})
	subB := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".*")})
	subC := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a.x", p+".a.x", p+".*.x")})

	ax := publish(t, e, p+".a.x", "1")    // A (two patterns), C (three)
	a := publish(t, e, p+".a", "2")       // A, B
	abx := publish(t, e, p+".a.b.x", "3") // A
	publish(t, e, p, "4")                 // nobody: `>` needs at least one more token
	publish(t, e, other+".a.x", "5")      // nobody
	bx := publish(t, e, p+".b.x", "6")    // A, C
	endB := publish(t, e, p+".zz", "7")   // A, B
	endC := publish(t, e, p+".zz.x", "8") // A, C

	newReader(t, subA).expect(ax, a, abx, bx, endB, endC)
	newReader(t, subB).expect(a, endB)
	newReader(t, subC).expect(ax, bx, endC)
}

// testLiveOnly: without After a subscription gets only messages published
// after it started.
func testLiveOnly(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	var last engine.PublishResult
	for range 3 {
		last = publish(t, e, p+".a", "old")
	}
	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	if got := sub.Position(); got != last.ID {
		t.Errorf("Position: got %s, want %s", got, last.ID)
	}
	live := publish(t, e, p+".a", "new")
	newReader(t, sub).expect(live)
}

// testIdempotency: a repeated idempotency key on the same topic returns the
// first message's position and delivers nothing; other topics and empty
// keys are independent.
func testIdempotency(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	before := publish(t, e, p+".a", "before")
	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})

	first := publishReq(t, e, engine.PublishRequest{Topic: p + ".a", Data: []byte("one"), IdempotencyKey: "k1"})
	if first.Duplicate {
		t.Fatalf("first publish with a key reported a duplicate")
	}
	dup := publishReq(t, e, engine.PublishRequest{Topic: p + ".a", Data: []byte("two"), IdempotencyKey: "k1"})
	if !dup.Duplicate || dup.ID != first.ID || !dup.Time.Equal(first.Time) {
		t.Errorf("repeated key: got %+v, want the first publish %+v with Duplicate", dup, first)
	}
	elsewhere := publishReq(t, e, engine.PublishRequest{Topic: p + ".b", Data: []byte("b"), IdempotencyKey: "k1"})
	if elsewhere.Duplicate {
		t.Errorf("the same key on another topic reported a duplicate")
	}
	noKey1 := publish(t, e, p+".a", "same")
	noKey2 := publish(t, e, p+".a", "same")
	if noKey2.Duplicate || noKey1.ID == noKey2.ID {
		t.Errorf("publishes without a key were de-duplicated: %+v, %+v", noKey1, noKey2)
	}
	other := publishReq(t, e, engine.PublishRequest{Topic: p + ".a", Data: []byte("k2"), IdempotencyKey: "k2"})
	if other.Duplicate {
		t.Errorf("a new key reported a duplicate")
	}

	rd := newReader(t, sub)
	m := rd.message()
	if m.ID != first.ID || string(m.Data) != "one" {
		t.Errorf("got %s %q, want %s \"one\"", m.ID, m.Data, first.ID)
	}
	rd.expect(noKey1, noKey2, other)

	replay := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a"), After: before.ID})
	newReader(t, replay).expect(first, noKey1, noKey2, other)
}
