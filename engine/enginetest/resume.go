package enginetest

import (
	"errors"
	"testing"

	"github.com/heraldhq/herald/engine"
)

// testResume: a subscription resumed after an id gets exactly the later
// retained messages, in order, with no gap, then live ones.
func testResume(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	var res []engine.PublishResult
	for i := range 10 {
		res = append(res, publish(t, e, p+[]string{".a", ".b"}[i%2], "x"))
	}
	publish(t, e, newPrefix()+".a", "elsewhere")

	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".>"), After: res[3].ID})
	rd := newReader(t, sub)
	rd.expect(res[4:]...)
	live := publish(t, e, p+".a", "live")
	rd.expect(live)

	onlyA := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a"), After: res[3].ID})
	rd = newReader(t, onlyA)
	rd.expect(res[4], res[6], res[8], live)

	newest := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".>"), After: live.ID})
	next := publish(t, e, p+".b", "next")
	newReader(t, newest).expect(next)
}

// testResumeFromPosition: resuming from a subscription's Position misses
// nothing published after that subscription started.
func testResumeFromPosition(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	publish(t, e, p+".a", "old")
	first := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	first.Close()
	var res []engine.PublishResult
	for range 3 {
		res = append(res, publish(t, e, p+".a", "missed"))
	}
	resumed := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a"), After: first.Position()})
	newReader(t, resumed).expect(res...)
}

// testResumeFromEmptyPosition: a fresh engine's Position is the start of
// its epoch, not "nothing", so a reader that subscribed before the first
// message and resumes from it misses nothing.
func testResumeFromEmptyPosition(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	first := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a")})
	pos := first.Position()
	first.Close()
	if pos.IsZero() || pos.Seq != 0 {
		t.Fatalf("Position of a fresh engine: %s, want the epoch's start", pos)
	}
	var res []engine.PublishResult
	for range 3 {
		res = append(res, publish(t, e, p+".a", "missed"))
	}
	resumed := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a"), After: pos})
	newReader(t, resumed).expect(res...)
}

// testResumeTruncated: when a topic's history no longer reaches back to
// After, a Gap naming that topic comes before any message; topics whose
// history is complete get none.
func testResumeTruncated(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{HistorySize: 3})
	p := newPrefix()
	a, b := p+".a", p+".b"
	var as []engine.PublishResult
	for range 5 {
		as = append(as, publish(t, e, a, "a"))
	}
	b1 := publish(t, e, b, "b")
	for range 5 {
		as = append(as, publish(t, e, a, "a"))
	} // a retains as[7:], b retains b1

	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".>"), After: as[1].ID})
	rd := newReader(t, sub)
	checkGap(t, rd.gap(), engine.Gap{Topics: []string{a}, Requested: as[1].ID, FirstAvailable: as[7].ID, Reason: engine.GapTruncated})
	rd.expect(b1, as[7], as[8], as[9])

	// Resuming from the newest evicted message misses nothing.
	exact := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, a), After: as[6].ID})
	rd = newReader(t, exact)
	rd.expect(as[7], as[8], as[9])

	// A topic whose history is complete has no gap.
	onlyB := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, b), After: as[1].ID})
	rd = newReader(t, onlyB)
	live := publish(t, e, b, "live")
	rd.expect(b1, live)
}

// testResumeForeignEpoch: an id from another epoch yields one
// GapEpochChanged naming the patterns, then everything retained.
func testResumeForeignEpoch(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	r1 := publish(t, e, p+".a", "1")
	r2 := publish(t, e, p+".b", "2")
	foreign := engine.ID{Epoch: r1.ID.Epoch ^ 1, Seq: r2.ID.Seq}
	if foreign.Epoch == 0 {
		foreign.Epoch = 2
	}
	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".>"), After: foreign})
	rd := newReader(t, sub)
	checkGap(t, rd.gap(), engine.Gap{Topics: []string{p + ".>"}, Requested: foreign, FirstAvailable: r1.ID, Reason: engine.GapEpochChanged})
	rd.expect(r1, r2)
}

// testFutureID: an id of the current epoch beyond the newest message is
// refused with ErrFutureID; the newest id itself is fine.
func testFutureID(t *testing.T, f Factory) {
	e := newEngine(t, f, Config{})
	p := newPrefix()
	r := publish(t, e, p+".a", "x")
	future := engine.ID{Epoch: r.ID.Epoch, Seq: r.ID.Seq + 1000}
	if _, err := e.Subscribe(t.Context(), engine.SubscribeRequest{Patterns: patterns(t, p+".a"), After: future}); !errors.Is(err, engine.ErrFutureID) {
		t.Errorf("Subscribe after %s: got %v, want ErrFutureID", future, err)
	}
	sub := subscribe(t, e, engine.SubscribeRequest{Patterns: patterns(t, p+".a"), After: r.ID})
	next := publish(t, e, p+".a", "y")
	newReader(t, sub).expect(next)
}
