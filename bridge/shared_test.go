package bridge

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/server"
)

// sharedEnv is a SharedSource over a remote source on a real upstream.
type sharedEnv struct {
	up  *upstream
	src *SharedSource
}

// newShared starts an upstream and a SharedSource over it with cfg; the
// source is closed when the test ends.
func newShared(t testing.TB, cfg SharedConfig) *sharedEnv {
	t.Helper()
	// No per-connection limits upstream: a bridge presents a relay key,
	// which they do not apply to.
	up := startUpstream(t, server.Config{Limits: limits.New(limits.Config{SubscribeRate: -1, MaxConnectionsPerIP: -1})}, memory.Options{})
	src := NewSharedSource(NewRemoteSource(dial(t, up.addr), RemoteConfig{}), cfg)
	t.Cleanup(src.Close)
	return &sharedEnv{up: up, src: src}
}

// subscribe subscribes to topics after lastID ("" for live only); the
// subscription is closed when the test ends.
func (e *sharedEnv) subscribe(t testing.TB, lastID string, topics ...string) Subscription {
	t.Helper()
	sub, err := e.src.Subscribe(testContext(t), Request{Topics: topics, LastEventID: lastID})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// streams returns how many Subscribe streams the upstream serves.
func (e *sharedEnv) streams(t testing.TB) int { return int(gauge(t, e.up.metrics)) }

// waitStreams waits until the upstream serves n Subscribe streams.
func (e *sharedEnv) waitStreams(t testing.TB, n int) {
	t.Helper()
	waitFor(t, testTimeout, fmt.Sprintf("%d upstream streams", n), func() bool { return e.streams(t) == n })
}

// wantIDs reads len(want) messages from sub and checks their ids, in order.
func wantIDs(t testing.TB, sub Subscription, want []engine.ID) {
	t.Helper()
	for i, ev := range collect(t, sub, len(want)) {
		if ev.Message == nil || ev.Message.ID != want[i] {
			t.Fatalf("event %d = %+v, want message %s", i, ev, want[i])
		}
	}
}

func TestSharedSourceOneUpstreamStreamPerTopicSet(t *testing.T) {
	t.Parallel()
	e := newShared(t, SharedConfig{Linger: -1})
	var subs []Subscription
	for i := range 10 {
		topics := []string{"a", "b"}
		if i%2 == 1 {
			topics = []string{"b", "a", "b"}
		}
		subs = append(subs, e.subscribe(t, "", topics...))
	}
	other := e.subscribe(t, "", "c")
	if n := e.streams(t); n != 2 {
		t.Fatalf("%d upstream streams for two topic sets, want 2", n)
	}
	if got := subs[1].Subscribed().Topics; len(got) != 2 || got[0] != "b" || got[1] != "a" {
		t.Fatalf("Subscribed().Topics = %v, want the client's own order [b a]", got)
	}

	var want []engine.ID
	for i := range 5 {
		want = append(want, publish(t, e.up.eng, []string{"a", "b"}[i%2], "m"))
	}
	c := publish(t, e.up.eng, "c", "other")
	for _, sub := range subs {
		wantIDs(t, sub, want)
	}
	wantIDs(t, other, []engine.ID{c})

	// The stream closes with its last reader when it does not linger.
	for _, sub := range subs {
		sub.Close()
	}
	e.waitStreams(t, 1)
	other.Close()
	e.waitStreams(t, 0)
}

func TestSharedSourceResumesFromItsRing(t *testing.T) {
	t.Parallel()
	e := newShared(t, SharedConfig{Linger: time.Hour})
	first := e.subscribe(t, "", "a")
	m1 := publish(t, e.up.eng, "a", "1")
	wantIDs(t, first, []engine.ID{m1})

	// The client goes away; the stream lingers and keeps what comes.
	first.Close()
	m2 := publish(t, e.up.eng, "a", "2")
	m3 := publish(t, e.up.eng, "a", "3")
	waitFor(t, testTimeout, "the lingering stream to receive the messages", func() bool {
		e.src.mu.Lock()
		h := e.src.hubs[shareKey([]string{"a"})]
		e.src.mu.Unlock()
		h.mu.Lock()
		defer h.mu.Unlock()
		return h.pos == m3
	})

	// It comes back and resumes from the ring, without a stream of its own.
	again := e.subscribe(t, m1.String(), "a")
	if got := again.Subscribed().CurrentID; got != m3.String() {
		t.Fatalf("Subscribed().CurrentID = %s, want %s", got, m3)
	}
	if n := e.streams(t); n != 1 {
		t.Fatalf("%d upstream streams after resuming from the ring, want 1", n)
	}
	m4 := publish(t, e.up.eng, "a", "4")
	wantIDs(t, again, []engine.ID{m2, m3, m4})

	// Resuming at the stream's position replays nothing.
	current := e.subscribe(t, m4.String(), "a")
	m5 := publish(t, e.up.eng, "a", "5")
	wantIDs(t, current, []engine.ID{m5})
	wantIDs(t, again, []engine.ID{m5})
}

func TestSharedSourceHandsOverWithoutGapOrRepeat(t *testing.T) {
	t.Parallel()
	e := newShared(t, SharedConfig{Ring: 8, Linger: -1})
	var all []engine.ID
	for range 40 {
		all = append(all, publish(t, e.up.eng, "a", "old"))
	}
	live := e.subscribe(t, "", "a")

	// A client resuming from before the stream's start catches up on a
	// stream of its own while messages keep coming, then hands over.
	published := make(chan []engine.ID, 1)
	go func() {
		var ids []engine.ID
		for range 200 {
			res, err := e.up.eng.Publish(context.Background(), engine.PublishRequest{Topic: "a", Data: []byte("new")})
			if err != nil {
				break
			}
			ids = append(ids, res.ID)
		}
		published <- ids
	}()
	resumed := e.subscribe(t, all[9].String(), "a")
	fresh := <-published
	all = append(all, fresh...)
	wantIDs(t, resumed, all[10:])
	wantIDs(t, live, fresh)
	e.waitStreams(t, 1)
	met := e.src.cfg.Metrics
	waitFor(t, testTimeout, "the catch-up stream's reader to return", func() bool {
		return testutil.MetricValue(t, met.CatchUp) == 0
	})
	if h, c, s := testutil.MetricValue(t, met.Handovers), testutil.MetricValue(t, met.CatchUp), testutil.MetricValue(t, met.Shared); h != 1 || c != 0 || s != 1 {
		t.Fatalf("metrics: %v handovers, %v streams catching up, %v shared, want 1, 0, 1", h, c, s)
	}

	// After the handover it goes on with the shared stream alone.
	next := publish(t, e.up.eng, "a", "after")
	wantIDs(t, resumed, []engine.ID{next})
	wantIDs(t, live, []engine.ID{next})
}

func TestSharedSourceRelaysGapsOfItsOwnStreams(t *testing.T) {
	t.Parallel()
	e := newShared(t, SharedConfig{})
	m1 := publish(t, e.up.eng, "a", "1")
	e.subscribe(t, "", "a")
	// An id of another epoch: the upstream's own stream reports the gap
	// and replays what it has.
	stale := engine.ID{Epoch: m1.Epoch + 1, Seq: 7}
	sub := e.subscribe(t, stale.String(), "a")
	evs := collect(t, sub, 2)
	if g := evs[0].Gap; g == nil || g.Reason != engine.GapEpochChanged || g.Requested != stale {
		t.Fatalf("first event %+v, want an epoch-changed gap from %s", evs[0], stale)
	}
	if m := evs[1].Message; m == nil || m.ID != m1 {
		t.Fatalf("second event %+v, want message %s", evs[1], m1)
	}
}

func TestSharedSourceSlowReaderEndsAlone(t *testing.T) {
	t.Parallel()
	e := newShared(t, SharedConfig{QueueLen: 2})
	slow := e.subscribe(t, "", "a")
	fast := e.subscribe(t, "", "a")
	for range 5 {
		id := publish(t, e.up.eng, "a", "m")
		wantIDs(t, fast, []engine.ID{id})
	}
	if err := nextError(t, slow); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Fatalf("slow reader: %v, want ErrSlowConsumer", err)
	}
	id := publish(t, e.up.eng, "a", "m")
	wantIDs(t, fast, []engine.ID{id})
	if n := e.streams(t); n != 1 {
		t.Fatalf("%d upstream streams, want 1", n)
	}
}

func TestSharedSourceEndsWithItsStream(t *testing.T) {
	t.Parallel()
	e := newShared(t, SharedConfig{})
	old := publish(t, e.up.eng, "a", "old")
	publish(t, e.up.eng, "z", "elsewhere") // the shared stream starts past old
	subs := []Subscription{e.subscribe(t, "", "a"), e.subscribe(t, "", "a")}
	// And one still on a catch-up stream: resuming from before old, it
	// replays old and waits for the next message of "a" to hand over.
	catching := e.subscribe(t, engine.ID{Epoch: old.Epoch}.String(), "a")
	wantIDs(t, catching, []engine.ID{old})
	subs = append(subs, catching)
	e.up.stop(t)
	for _, sub := range subs {
		if err := nextError(t, sub); !errors.Is(err, engine.ErrClosed) {
			t.Fatalf("Next after the upstream stopped: %v, want ErrClosed", err)
		}
	}
	waitFor(t, testTimeout, "the catch-up stream's reader to return", func() bool {
		return testutil.MetricValue(t, e.src.cfg.Metrics.CatchUp) == 0
	})
	_, err := e.src.Subscribe(testContext(t), Request{Topics: []string{"a"}})
	wantCode(t, err, codes.Unavailable, msgUpstreamUnavailable)
}

func TestSharedSourceClose(t *testing.T) {
	t.Parallel()
	e := newShared(t, SharedConfig{})
	old := publish(t, e.up.eng, "a", "old")
	publish(t, e.up.eng, "z", "elsewhere") // the shared stream starts past old
	live := e.subscribe(t, "", "a")
	catching := e.subscribe(t, engine.ID{Epoch: old.Epoch}.String(), "a")
	wantIDs(t, catching, []engine.ID{old})
	e.src.Close() // returns once the readers of both streams have
	for _, sub := range []Subscription{live, catching} {
		if err := nextError(t, sub); !errors.Is(err, engine.ErrClosed) {
			t.Fatalf("Next after Close: %v, want ErrClosed", err)
		}
	}
	_, err := e.src.Subscribe(testContext(t), Request{Topics: []string{"a"}})
	wantCode(t, err, codes.Unavailable, msgShuttingDown)
	e.waitStreams(t, 0)
	met := e.src.cfg.Metrics
	if s, c := testutil.MetricValue(t, met.Shared), testutil.MetricValue(t, met.CatchUp); s != 0 || c != 0 {
		t.Fatalf("%v shared and %v catch-up streams after Close, want none", s, c)
	}
	if _, err := e.src.Subscribe(testContext(t), Request{Topics: []string{""}}); err == nil {
		t.Fatal("an invalid topic was accepted")
	}
}

// TestSharedSourceOutlivesAnAbandonedStart: when the subscriber that
// starts a shared stream gives up before the upstream confirms, another
// one waiting for the same stream starts it again rather than failing
// with the first one's cancellation.
func TestSharedSourceOutlivesAnAbandonedStart(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	addr := startFake(t, func(_ *heraldv1.SubscribeRequest, st grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error {
		if calls.Add(1) == 1 {
			<-st.Context().Done() // never confirms the first
			return nil
		}
		if err := st.Send(subscribedFrame([]string{"a"}, "k-1")); err != nil {
			return err
		}
		<-st.Context().Done()
		return nil
	})
	src := NewSharedSource(NewRemoteSource(dial(t, addr), RemoteConfig{}), SharedConfig{})
	t.Cleanup(src.Close)

	firstCtx, giveUp := context.WithCancel(testContext(t))
	firstErr := make(chan error, 1)
	go func() {
		_, err := src.Subscribe(firstCtx, Request{Topics: []string{"a"}})
		firstErr <- err
	}()
	waitFor(t, testTimeout, "the first upstream call", func() bool { return calls.Load() == 1 })
	second := make(chan error, 1)
	go func() {
		sub, err := src.Subscribe(testContext(t), Request{Topics: []string{"a"}})
		if err == nil {
			sub.Close()
		}
		second <- err
	}()
	// Let the second find the stream the first is starting and wait for
	// it; were it late, it would start the stream itself and the test
	// would not see the retry, but would still pass.
	time.Sleep(100 * time.Millisecond)
	giveUp()
	wantCode(t, <-firstErr, codes.Canceled, "")
	if err := <-second; err != nil {
		t.Fatalf("the waiting subscriber: %v", err)
	}
	if n := calls.Load(); n != 2 {
		t.Fatalf("%d upstream calls, want 2", n)
	}
}

// TestHubRing checks the ring's bounds and the positions from which a
// member joins or hands over, including a member whose own stream ran
// ahead of the shared one.
func TestHubRing(t *testing.T) {
	t.Parallel()
	const epoch = 7
	id := func(seq uint64) engine.ID { return engine.ID{Epoch: epoch, Seq: seq} }
	src := NewSharedSource(nil, SharedConfig{Ring: 4, RingBytes: 10})
	h := &hub{src: src, epoch: epoch, pos: id(0), base: id(0), members: make(map[*member]struct{})}
	msg := func(seq uint64, size int) *engine.Message {
		return &engine.Message{ID: id(seq), Data: make([]byte, size)}
	}
	for seq := uint64(1); seq <= 200; seq++ {
		h.deliverLocked(engine.Event{Message: msg(seq, 1)})
	}
	if h.pos != id(200) || h.base != id(196) || len(h.ring)-h.head != 4 || cap(h.ring) > 256 {
		t.Fatalf("after 200 messages: pos %v base %v ring %d (cap %d), want 200, 196, 4 kept",
			h.pos, h.base, len(h.ring)-h.head, cap(h.ring))
	}
	for _, tt := range []struct {
		p    engine.ID
		want bool
	}{
		{id(195), false}, {id(196), true}, {id(200), true}, {id(201), false}, {engine.ID{Epoch: 8, Seq: 198}, false},
	} {
		if got := h.covers(tt.p); got != tt.want {
			t.Errorf("covers(%v) = %v, want %v", tt.p, got, tt.want)
		}
	}
	if got := h.since(id(198)); len(got) != 2 || got[0].ID != id(199) {
		t.Fatalf("since(198) = %d messages from %v, want 199 and 200", len(got), got)
	}

	// A big message evicts by bytes, but the newest stays.
	h.deliverLocked(engine.Event{Message: msg(201, 50)})
	if h.base != id(200) || len(h.ring)-h.head != 1 {
		t.Fatalf("after a big message: base %v, %d kept, want 200 and 1", h.base, len(h.ring)-h.head)
	}

	// Handing over behind the stream queues the ring's messages since;
	// ahead of it, the stream's messages up to there are skipped.
	behind, ahead := &member{hub: h}, &member{hub: h}
	for _, m := range []*member{behind, ahead} {
		m.init(10, 1<<20)
	}
	if h.canAdopt(id(199)) {
		t.Fatal("may adopt at 199, which the ring no longer covers")
	}
	if !h.canAdopt(id(200)) || !h.canAdopt(id(203)) {
		t.Fatal("may not adopt at a covered position")
	}
	h.adoptLocked(behind, id(200))
	h.adoptLocked(ahead, id(203))
	for seq := uint64(202); seq <= 204; seq++ {
		h.deliverLocked(engine.Event{Message: msg(seq, 1)})
	}
	for _, tt := range []struct {
		m    *member
		want []uint64
	}{{behind, []uint64{201, 202, 203, 204}}, {ahead, []uint64{204}}} {
		evs, _ := tt.m.TryNext(nil)
		var got []uint64
		for _, ev := range evs {
			got = append(got, ev.Message.ID.Seq)
		}
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("member got %v, want %v", got, tt.want)
		}
	}
}

// TestSharedSourceSharesCatchUpStreams: clients resuming from the same
// position the ring does not cover (as all the clients of a topic do
// after a restart) share one catch-up stream, those that come later
// replaying its log first, and hand over together.
func TestSharedSourceSharesCatchUpStreams(t *testing.T) {
	t.Parallel()
	e := newShared(t, SharedConfig{Linger: -1})
	var old []engine.ID
	for range 5 {
		old = append(old, publish(t, e.up.eng, "a", "old"))
	}
	// A message elsewhere puts the shared stream's start past the last of
	// "a": the catch-up streams replay up to that last one and still need
	// the next message of "a" to hand over.
	z := publish(t, e.up.eng, "z", "elsewhere")
	live := e.subscribe(t, "", "a")
	first := e.subscribe(t, old[1].String(), "a")
	wantIDs(t, first, old[2:])
	// The second comes once the stream has delivered the replay: it gets
	// it from the stream's log.
	second := e.subscribe(t, old[1].String(), "a")
	met := e.src.cfg.Metrics
	if n := testutil.MetricValue(t, met.CatchUp); n != 1 {
		t.Fatalf("%v catch-up streams for two clients resuming from one id, want 1", n)
	}
	if n := e.streams(t); n != 2 {
		t.Fatalf("%d upstream streams, want 2 (shared and catch-up)", n)
	}
	if got := second.Subscribed().CurrentID; got != z.String() {
		t.Fatalf("the second's Subscribed().CurrentID = %s, want %s", got, z)
	}
	// Another resume position gets a stream of its own.
	other := e.subscribe(t, old[2].String(), "a")
	if n := testutil.MetricValue(t, met.CatchUp); n != 2 {
		t.Fatalf("%v catch-up streams for two resume positions, want 2", n)
	}
	wantIDs(t, second, old[2:])
	wantIDs(t, other, old[3:])

	// The next message is in the ring: everyone hands over.
	next := publish(t, e.up.eng, "a", "new")
	for _, sub := range []Subscription{live, first, second, other} {
		wantIDs(t, sub, []engine.ID{next})
	}
	e.waitStreams(t, 1)
	waitFor(t, testTimeout, "the catch-up streams to close", func() bool { return testutil.MetricValue(t, met.CatchUp) == 0 })
	if n := testutil.MetricValue(t, met.Handovers); n != 3 {
		t.Fatalf("%v handovers, want 3", n)
	}
	after := publish(t, e.up.eng, "a", "after")
	for _, sub := range []Subscription{live, first, second, other} {
		wantIDs(t, sub, []engine.ID{after})
	}
}

// TestSharedSourceCatchUpClosesWithItsLastReader: a catch-up stream whose
// readers all left closes, and with it the shared stream that no longer
// has anyone to hand over to.
func TestSharedSourceCatchUpClosesWithItsLastReader(t *testing.T) {
	t.Parallel()
	e := newShared(t, SharedConfig{Linger: -1})
	old := publish(t, e.up.eng, "a", "old")
	publish(t, e.up.eng, "z", "elsewhere") // the shared stream starts past old
	live := e.subscribe(t, "", "a")
	var subs []Subscription
	for range 3 {
		subs = append(subs, e.subscribe(t, engine.ID{Epoch: old.Epoch}.String(), "a"))
	}
	e.waitStreams(t, 2)
	for _, sub := range subs {
		wantIDs(t, sub, []engine.ID{old})
		sub.Close()
	}
	e.waitStreams(t, 1)
	live.Close()
	e.waitStreams(t, 0)
}

func TestCatchUpLogIsBounded(t *testing.T) {
	t.Parallel()
	g := &catchUp{joinable: true}
	for i := range catchUpLogLen {
		g.record(engine.Event{Message: &engine.Message{ID: engine.ID{Epoch: 1, Seq: uint64(i + 1)}}})
	}
	if !g.joinable || len(g.log) != catchUpLogLen {
		t.Fatalf("at the bound: joinable %v, %d logged", g.joinable, len(g.log))
	}
	g.record(engine.Event{Message: &engine.Message{ID: engine.ID{Epoch: 1, Seq: catchUpLogLen + 1}}})
	if g.joinable || g.log != nil {
		t.Fatalf("past the bound: joinable %v, %d logged, want neither", g.joinable, len(g.log))
	}
	m := &member{}
	m.init(1, 1)
	if g.joinLocked(m, []string{"a"}) {
		t.Fatal("joined a stream past its log's bound")
	}

	big := &catchUp{joinable: true}
	big.record(engine.Event{Message: &engine.Message{Data: make([]byte, catchUpLogBytes+1)}})
	if big.joinable {
		t.Fatal("a log past its byte bound may still be joined")
	}
}

// TestSharedSourceDeliversExactlyOnceUnderChurn drives a SharedSource with
// a small ring through a random mix of publishes to two topics, live
// subscriptions to one or both, resumes from random earlier ids of either
// (in the ring, behind it, shared with others) and closes, while the
// shared and catch-up streams run: every subscription still open at the
// end must have received exactly the messages of its topics after its
// position, in order.
func TestSharedSourceDeliversExactlyOnceUnderChurn(t *testing.T) {
	t.Parallel()
	for seed := range uint64(4) {
		t.Run(fmt.Sprint("seed ", seed), func(t *testing.T) {
			t.Parallel()
			e := newShared(t, SharedConfig{Ring: 8, Linger: -1})
			rng := rand.New(rand.NewPCG(seed, 1))
			type open struct {
				sub   Subscription
				both  bool   // subscribed to "a" and "b"; else to "a"
				after uint64 // the position it received everything after
			}
			topics := func(both bool) []string {
				if both {
					return []string{"b", "a"}
				}
				return []string{"a"}
			}
			var ids []engine.ID
			inA := map[engine.ID]bool{}
			var subs []open
			for range 400 {
				switch r := rng.IntN(100); {
				case r < 70 || len(ids) == 0:
					topic := []string{"a", "b"}[rng.IntN(2)]
					id := publish(t, e.up.eng, topic, "m")
					ids = append(ids, id)
					inA[id] = topic == "a"
				case r < 80:
					both := rng.IntN(2) == 1
					sub := e.subscribe(t, "", topics(both)...)
					cur, err := engine.ParseID(sub.Subscribed().CurrentID)
					if err != nil {
						t.Fatal(err)
					}
					subs = append(subs, open{sub, both, cur.Seq})
				case r < 95:
					both := rng.IntN(2) == 1
					from := ids[rng.IntN(len(ids))]
					sub := e.subscribe(t, from.String(), topics(both)...)
					subs = append(subs, open{sub, both, from.Seq})
				case len(subs) > 0:
					i := rng.IntN(len(subs))
					subs[i].sub.Close()
					subs = slices.Delete(subs, i, i+1)
				}
			}
			last := publish(t, e.up.eng, "a", "end")
			ids = append(ids, last)
			inA[last] = true
			for i, o := range subs {
				var want []engine.ID
				for _, id := range ids {
					if id.Seq > o.after && (o.both || inA[id]) {
						want = append(want, id)
					}
				}
				var got []engine.ID
				for len(got) == 0 || got[len(got)-1] != last {
					for _, ev := range nextEvents(t, o.sub) {
						if ev.Message == nil {
							t.Fatalf("subscription %d: event %+v, want messages only", i, ev)
						}
						got = append(got, ev.Message.ID)
					}
				}
				if !slices.Equal(got, want) {
					t.Fatalf("subscription %d after %d: got %d messages %v, want %d %v", i, o.after, len(got), got, len(want), want)
				}
			}
		})
	}
}

// TestSharedSourceUpstreamEndingStreamsAtOnce: an upstream that confirms
// each stream and ends it at once neither makes Subscribe start streams
// without end nor leaves a subscription hanging: each Subscribe either
// fails with Unavailable or gives a subscription that ends with
// ErrClosed, after at most maxHubAttempts upstream calls.
func TestSharedSourceUpstreamEndingStreamsAtOnce(t *testing.T) {
	t.Parallel()
	var calls atomic.Int32
	addr := startFake(t, func(_ *heraldv1.SubscribeRequest, st grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error {
		calls.Add(1)
		return st.Send(subscribedFrame([]string{"a"}, "k-1"))
	})
	src := NewSharedSource(NewRemoteSource(dial(t, addr), RemoteConfig{}), SharedConfig{Linger: -1})
	t.Cleanup(src.Close)
	for range 10 {
		before := calls.Load()
		sub, err := src.Subscribe(testContext(t), Request{Topics: []string{"a"}})
		if err != nil {
			wantCode(t, err, codes.Unavailable, msgUpstreamUnavailable)
		} else {
			if err := nextError(t, sub); !errors.Is(err, engine.ErrClosed) {
				t.Fatalf("Next: %v, want ErrClosed", err)
			}
			sub.Close()
		}
		if n := calls.Load() - before; n > maxHubAttempts {
			t.Fatalf("one Subscribe made %d upstream calls, want at most %d", n, maxHubAttempts)
		}
	}
}
