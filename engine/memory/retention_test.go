package memory

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/heraldhq/herald/engine"
)

// janitorOff is a janitor interval long enough never to fire in a test, for
// tests that drive expiry by hand.
const janitorOff = time.Hour

func TestExpiryByAge(t *testing.T) {
	clock := newFakeClock()
	e := newTestEngine(t, Options{HistoryTTL: time.Minute, JanitorInterval: janitorOff, Now: clock.Now})

	m1 := mustPublishReq(t, e, engine.PublishRequest{Topic: "a", Data: []byte("1"), IdempotencyKey: "k"})
	mustPublish(t, e, "a", []byte("2"))
	if !m1.Time.Equal(clock.Now()) {
		t.Errorf("publish time %v, want the clock's %v", m1.Time, clock.Now())
	}
	clock.Add(30 * time.Second)
	if dup := mustPublishReq(t, e, engine.PublishRequest{Topic: "a", Data: []byte("again"), IdempotencyKey: "k"}); !dup.Duplicate || dup.ID != m1.ID {
		t.Errorf("key within TTL: got %+v, want a duplicate of %s", dup, m1.ID)
	}
	m3 := mustPublish(t, e, "a", []byte("3"))
	clock.Add(30 * time.Second) // m1 and m2 are now exactly one TTL old

	sub := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("a"), After: m1.ID})
	evs := next(t, sub)
	if len(evs) != 2 || evs[0].Gap == nil || evs[1].Message == nil {
		t.Fatalf("got %+v, want a gap and one message", evs)
	}
	want := engine.Gap{Topics: []string{"a"}, Requested: m1.ID, FirstAvailable: m3.ID, Reason: engine.GapTruncated}
	if g := *evs[0].Gap; !slices.Equal(g.Topics, want.Topics) || g.Requested != want.Requested || g.FirstAvailable != want.FirstAvailable || g.Reason != want.Reason {
		t.Errorf("gap %+v, want %+v", g, want)
	}
	if evs[1].Message.ID != m3.ID {
		t.Errorf("replayed %s, want %s", evs[1].Message.ID, m3.ID)
	}

	again := mustPublishReq(t, e, engine.PublishRequest{Topic: "a", Data: []byte("new"), IdempotencyKey: "k"})
	if again.Duplicate || again.ID == m1.ID {
		t.Errorf("key after its message expired: got %+v, want a new message", again)
	}
	if !again.Time.Equal(clock.Now()) {
		t.Errorf("publish time %v, want the clock's %v", again.Time, clock.Now())
	}
}

func TestJanitorForgetsIdleTopics(t *testing.T) {
	clock := newFakeClock()
	e := newTestEngine(t, Options{HistoryTTL: time.Minute, JanitorInterval: 5 * time.Millisecond, Now: clock.Now})

	a1 := mustPublish(t, e, "a", []byte("1"))
	a2 := mustPublish(t, e, "a", []byte("2"))
	mustPublish(t, e, "b", []byte("1"))
	subB := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("b")})
	wild := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats(">")})

	clock.Add(2 * time.Minute)
	// "a" is forgotten; "b" is kept, empty, while a subscription names it.
	// A wildcard subscription keeps nothing alive.
	waitFor(t, 10*time.Second, "the janitor to forget topic a", func() bool {
		st := e.stats()
		return st.topics == 1 && st.retained == 0 && st.forgottenUpTo == a2.ID.Seq
	})
	if !e.hasTopic("b") {
		t.Fatalf("topic b was forgotten while subscribed")
	}

	// A resume from before the forgotten messages gets a conservative gap
	// for its patterns, even though they may never have matched "a".
	sub := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("zz.>"), After: a1.ID})
	evs := next(t, sub)
	if len(evs) != 1 || evs[0].Gap == nil {
		t.Fatalf("got %+v, want one gap", evs)
	}
	if g := evs[0].Gap; !slices.Equal(g.Topics, []string{"zz.>"}) || g.Requested != a1.ID || !g.FirstAvailable.IsZero() || g.Reason != engine.GapTruncated {
		t.Errorf("gap %+v", *g)
	}

	// Topic "b" is known, so it gets its own gap first, then the
	// conservative one.
	subB2 := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("b"), After: a1.ID})
	evs = next(t, subB2)
	if len(evs) != 2 || evs[0].Gap == nil || evs[1].Gap == nil {
		t.Fatalf("got %+v, want two gaps", evs)
	}
	if g := evs[0].Gap; !slices.Equal(g.Topics, []string{"b"}) || g.Requested != a1.ID || !g.FirstAvailable.IsZero() || g.Reason != engine.GapTruncated {
		t.Errorf("first gap %+v, want topic b", *g)
	}

	// From the last forgotten message on, nothing is missing.
	clean := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("zz.>"), After: a2.ID})
	live := mustPublish(t, e, "zz.q", []byte("live"))
	if got := ids(next(t, clean)); !slices.Equal(got, resultIDs(live)) {
		t.Errorf("resume after the forgotten messages: got %v, want only %s", got, live.ID)
	}

	// Once nobody names "b", it goes too.
	subB.Close()
	subB2.Close()
	wild.Close()
	clock.Add(2 * time.Minute)
	waitFor(t, 10*time.Second, "the janitor to forget topic b", func() bool { return !e.hasTopic("b") })
	if st := e.stats(); st.forgottenUpTo != live.ID.Seq || st.idle != 0 || st.heap != 0 {
		t.Errorf("after forgetting everything: %+v, want forgottenUpTo %d", st, live.ID.Seq)
	}
}

func TestSweepVisitsOnlyExpiredTopics(t *testing.T) {
	clock := newFakeClock()
	e := newTestEngine(t, Options{HistorySize: 2, HistoryTTL: time.Minute, JanitorInterval: janitorOff, Now: clock.Now})
	for i := range 10 {
		mustPublish(t, e, fmt.Sprintf("t%d", i), []byte("x"))
		clock.Add(10 * time.Second)
	}
	// t9 gets three messages: size eviction leaves its heap key stale.
	mustPublish(t, e, "t9", []byte("y"))
	mustPublish(t, e, "t9", []byte("z"))
	// Now: t0 is 100s old, t1 90s, ... t3 70s, t4 60s: t0..t4 expire.
	e.sweep()
	for i := range 10 {
		name := fmt.Sprintf("t%d", i)
		if got, want := e.hasTopic(name), i > 4; got != want {
			t.Errorf("topic %s kept: %v, want %v", name, got, want)
		}
	}
	st := e.stats()
	if st.heap != 5 || st.retained != 6 {
		t.Errorf("after sweep: %+v, want 5 topics in the heap and 6 messages", st)
	}
	clock.Add(time.Hour)
	e.sweep()
	if st := e.stats(); st.topics != 0 || st.heap != 0 || st.idle != 0 || st.forgottenUpTo != 12 {
		t.Errorf("after everything expired: %+v", st)
	}
}

func TestEpochChange(t *testing.T) {
	old := newTestEngine(t, Options{})
	x := mustPublish(t, old, "t.a", []byte("old"))
	e := newTestEngine(t, Options{})
	if old.epoch == 0 || e.epoch == 0 || old.epoch == e.epoch {
		t.Fatalf("epochs %x and %x: want two distinct non-zero ones", old.epoch, e.epoch)
	}
	a := mustPublish(t, e, "t.a", []byte("a"))
	mustPublish(t, e, "u", []byte("other"))
	b := mustPublish(t, e, "t.b.c", []byte("b"))

	after, err := engine.ParseID(x.ID.String()) // as a client hands it back
	if err != nil {
		t.Fatal(err)
	}
	sub := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("t.>"), After: after})
	evs := next(t, sub)
	if len(evs) != 3 || evs[0].Gap == nil {
		t.Fatalf("got %+v, want a gap and two messages", evs)
	}
	g := evs[0].Gap
	if !slices.Equal(g.Topics, []string{"t.>"}) || g.Requested != x.ID || g.FirstAvailable != a.ID || g.Reason != engine.GapEpochChanged {
		t.Errorf("gap %+v", *g)
	}
	if got := ids(evs[1:]); !slices.Equal(got, resultIDs(a, b)) {
		t.Errorf("replay %v, want %v", got, resultIDs(a, b))
	}

	// Nothing retained: the gap still comes, with no FirstAvailable.
	empty := mustSubscribe(t, e, engine.SubscribeRequest{Patterns: pats("none"), After: after})
	evs = next(t, empty)
	if len(evs) != 1 || evs[0].Gap == nil || !evs[0].Gap.FirstAvailable.IsZero() || evs[0].Gap.Reason != engine.GapEpochChanged {
		t.Errorf("got %+v, want one epoch gap with no FirstAvailable", evs)
	}
}
