package bridge

import (
	"context"
	"errors"
	"runtime"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/metrics"
	"github.com/heraldhq/herald/server"
)

// gauge reads the upstream's subscriptions gauge of the gRPC transport.
func gauge(t testing.TB, m *metrics.Metrics) float64 {
	t.Helper()
	return testutil.MetricValue(t, m.Subscriptions.WithLabelValues(metrics.TransportGRPC))
}

// subscribeRemote subscribes to topic "a" through a RemoteSource with cfg
// on the upstream at addr. The subscription is closed when the test ends.
func subscribeRemote(t testing.TB, addr string, cfg RemoteConfig) Subscription {
	t.Helper()
	sub, err := NewRemoteSource(dial(t, addr), cfg).Subscribe(testContext(t), Request{Topics: []string{"a"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// waitRemote waits until cond holds of sub, a remote subscription, read
// under its lock.
func waitRemote(t testing.TB, sub Subscription, what string, cond func(*remoteSubscription) bool) {
	t.Helper()
	rs := sub.(*remoteSubscription)
	waitFor(t, testTimeout, what, func() bool {
		rs.mu.Lock()
		defer rs.mu.Unlock()
		return cond(rs)
	})
}

func TestRemoteSourceReplaysThenRelaysLive(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, server.Config{}, memory.Options{})
	src := NewRemoteSource(dial(t, up.addr), RemoteConfig{})
	ctx := testContext(t)
	first := publish(t, up.eng, "news", "one")
	second := publish(t, up.eng, "news", "two\r\nlines")

	sub, err := src.Subscribe(ctx, Request{Topics: []string{"news", "news"}, LastEventID: first.String()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	if got := sub.Subscribed(); len(got.Topics) != 1 || got.Topics[0] != "news" || got.CurrentID != second.String() {
		t.Fatalf("Subscribed = %+v, want [news] at %s", got, second)
	}
	m := collect(t, sub, 1)[0].Message
	if m == nil || m.ID != second || m.Topic != "news" || string(m.Data) != "two\r\nlines" {
		t.Fatalf("replayed %+v, want message %s", m, second)
	}

	res, err := up.eng.Publish(ctx, engine.PublishRequest{
		Topic: "news", Data: []byte{0xff, 0}, ContentType: "application/octet-stream", Event: "bin",
	})
	if err != nil {
		t.Fatal(err)
	}
	m = collect(t, sub, 1)[0].Message
	if m.ID != res.ID || m.ContentType != "application/octet-stream" || m.Event != "bin" ||
		string(m.Data) != "\xff\x00" || !m.Time.Equal(res.Time) {
		t.Fatalf("live %+v, want %+v", m, res)
	}
}

func TestRemoteSourceRelaysGaps(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, server.Config{}, memory.Options{HistorySize: 1})
	src := NewRemoteSource(dial(t, up.addr), RemoteConfig{})
	ctx := testContext(t)
	first := publish(t, up.eng, "t", "1")
	publish(t, up.eng, "t", "2")
	last := publish(t, up.eng, "t", "3")

	sub, err := src.Subscribe(ctx, Request{Topics: []string{"t"}, LastEventID: first.String()})
	if err != nil {
		t.Fatal(err)
	}
	evs := collect(t, sub, 2)
	sub.Close()
	if g := evs[0].Gap; g == nil || g.Reason != engine.GapTruncated || g.Requested != first ||
		g.FirstAvailable != last || len(g.Topics) != 1 || g.Topics[0] != "t" {
		t.Fatalf("first event %+v, want a truncated gap", evs[0])
	}
	if evs[1].Message == nil || evs[1].Message.ID != last {
		t.Fatalf("after the gap %+v, want %s", evs[1], last)
	}

	// An id of another epoch: an epoch-changed gap, then everything retained.
	old := engine.ID{Epoch: last.Epoch + 1, Seq: 7}
	sub, err = src.Subscribe(ctx, Request{Topics: []string{"t"}, LastEventID: old.String()})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Close()
	evs = collect(t, sub, 2)
	if g := evs[0].Gap; g == nil || g.Reason != engine.GapEpochChanged || g.Requested != old {
		t.Fatalf("first event %+v, want an epoch-changed gap", evs[0])
	}
	if evs[1].Message == nil || evs[1].Message.ID != last {
		t.Fatalf("after the gap %+v, want %s", evs[1], last)
	}
}

func TestRemoteSourceRefusals(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, server.Config{}, memory.Options{})
	src := NewRemoteSource(dial(t, up.addr), RemoteConfig{})
	ctx := testContext(t)
	id := publish(t, up.eng, "a", "x")

	// Refused before the upstream is asked, with the server's texts.
	_, err := src.Subscribe(ctx, Request{Topics: []string{"a b"}})
	wantCode(t, err, codes.InvalidArgument, `topics[0]: pattern "a b"`)
	_, err = src.Subscribe(ctx, Request{Topics: []string{"a"}, LastEventID: "-"})
	wantCode(t, err, codes.InvalidArgument, "is not a message id")
	// Refused by the upstream, passed on as it is.
	future := engine.ID{Epoch: id.Epoch, Seq: id.Seq + 10}
	_, err = src.Subscribe(ctx, Request{Topics: []string{"a"}, LastEventID: future.String()})
	wantCode(t, err, codes.InvalidArgument, "is ahead of the stream")

	// An unreachable upstream is UNAVAILABLE, without transport details.
	up.stop(t)
	_, err = src.Subscribe(ctx, Request{Topics: []string{"a"}})
	wantCode(t, err, codes.Unavailable, msgUpstreamUnavailable)
}

func TestRemoteSourceUpstreamShutdownIsErrClosed(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, server.Config{}, memory.Options{})
	sub := subscribeRemote(t, up.addr, RemoteConfig{})
	up.stop(t)
	if err := nextError(t, sub); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Next after the upstream stopped: %v, want ErrClosed", err)
	}
}

func TestRemoteSourceHeartbeatsAreNotEvents(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, server.Config{HeartbeatInterval: 20 * time.Millisecond}, memory.Options{})
	sub := subscribeRemote(t, up.addr, RemoteConfig{})
	// Several heartbeat intervals pass: no event, and the stream lives.
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if evs, err := sub.Next(ctx, nil); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next on an idle stream: %v %v, want the deadline", evs, err)
	}
	id := publish(t, up.eng, "a", "x")
	if m := collect(t, sub, 1)[0].Message; m.ID != id {
		t.Fatalf("got %+v, want %s", m, id)
	}
}

func TestRemoteSourceCloseEndsTheUpstreamStream(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, server.Config{}, memory.Options{})
	sub := subscribeRemote(t, up.addr, RemoteConfig{})
	waitFor(t, testTimeout, "the upstream subscription", func() bool { return gauge(t, up.metrics) == 1 })
	publish(t, up.eng, "a", "queued, never read")
	waitRemote(t, sub, "the message to be queued", func(rs *remoteSubscription) bool { return len(rs.queue) == 1 })
	sub.Close()
	sub.Close()
	if _, err := sub.Next(testContext(t), nil); !errors.Is(err, engine.ErrSubscriptionClosed) {
		t.Fatalf("Next after Close: %v", err)
	}
	waitFor(t, testTimeout, "the upstream to end the stream", func() bool { return gauge(t, up.metrics) == 0 })
}

func TestRemoteSourceOverflowIsSlowConsumer(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, server.Config{}, memory.Options{})
	src := NewRemoteSource(dial(t, up.addr), RemoteConfig{QueueLen: 3})
	ctx := testContext(t)
	var first engine.ID
	for i := range 5 {
		id := publish(t, up.eng, "t", "r")
		if i == 0 {
			first = id
		}
	}

	// Replayed history does not count against the queue.
	replay, err := src.Subscribe(ctx, Request{Topics: []string{"t"}, LastEventID: first.String()})
	if err != nil {
		t.Fatal(err)
	}
	defer replay.Close()
	waitRemote(t, replay, "the replay to be queued", func(rs *remoteSubscription) bool { return len(rs.queue) == 4 })
	if evs := collect(t, replay, 4); evs[3].Message == nil {
		t.Fatalf("replay %+v", evs)
	}

	// Live messages do: the fourth one unread overflows.
	for range 4 {
		publish(t, up.eng, "t", "live")
	}
	waitRemote(t, replay, "the overflow", func(rs *remoteSubscription) bool { return rs.err != nil })
	if err := nextError(t, replay); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Fatalf("Next after the overflow: %v, want ErrSlowConsumer", err)
	}
	waitFor(t, testTimeout, "the upstream to end the stream", func() bool { return gauge(t, up.metrics) == 0 })
}

// TestRemoteSourceNextHonoursItsContext: a Next whose context has ended
// hands out nothing, not even events already queued, and leaves them for
// the next call, as the engine's subscriptions do.
func TestRemoteSourceNextHonoursItsContext(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, server.Config{}, memory.Options{})
	sub := subscribeRemote(t, up.addr, RemoteConfig{})
	waitFor(t, testTimeout, "the upstream subscription", func() bool { return gauge(t, up.metrics) == 1 })
	first := publish(t, up.eng, "a", "1")
	second := publish(t, up.eng, "a", "2")
	waitRemote(t, sub, "the messages to be queued", func(rs *remoteSubscription) bool { return len(rs.queue) == 2 })

	sentinel := engine.Event{Gap: &engine.Gap{Reason: engine.GapTruncated}}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	expired, cancelExpired := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancelExpired()
	for _, ctx := range []context.Context{cancelled, expired} {
		dst, err := sub.Next(ctx, []engine.Event{sentinel})
		if !errors.Is(err, ctx.Err()) {
			t.Fatalf("Next with a context that ended (%v), events queued: %v, want the context's error", ctx.Err(), err)
		}
		if len(dst) != 1 || dst[0] != sentinel {
			t.Fatalf("Next changed dst on error: %+v", dst)
		}
	}
	evs := collect(t, sub, 2)
	if evs[0].Message == nil || evs[0].Message.ID != first || evs[1].Message == nil || evs[1].Message.ID != second {
		t.Fatalf("after the context errors got %+v, want messages %s and %s", evs, first, second)
	}
}

func TestRemoteSourceUpstreamSlowConsumer(t *testing.T) {
	t.Parallel()
	addr := startFake(t, func(req *heraldv1.SubscribeRequest, st grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error {
		if err := st.Send(subscribedFrame(req.GetTopics(), "k-1")); err != nil {
			return err
		}
		return status.Error(codes.ResourceExhausted, "slow consumer")
	})
	sub := subscribeRemote(t, addr, RemoteConfig{})
	if err := nextError(t, sub); !errors.Is(err, engine.ErrSlowConsumer) {
		t.Fatalf("Next: %v, want ErrSlowConsumer", err)
	}
}

func TestRemoteSourceDeliversWhatCameBeforeAFailure(t *testing.T) {
	t.Parallel()
	addr := startFake(t, func(req *heraldv1.SubscribeRequest, st grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error {
		_ = st.Send(subscribedFrame(req.GetTopics(), "k-1"))
		_ = st.Send(&heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Message{Message: &heraldv1.Message{
			Topic: "a", Id: "k-2", Data: []byte("last"), PublishTime: timestamppb.Now(),
		}}})
		return status.Error(codes.Unavailable, "server is shutting down")
	})
	sub := subscribeRemote(t, addr, RemoteConfig{})
	waitRemote(t, sub, "the stream's end", func(rs *remoteSubscription) bool { return rs.err != nil })
	// A context that ended comes first while a message is queued, and the
	// end of the stream once nothing is.
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := sub.Next(cancelled, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("Next with a cancelled context, a message queued: %v, want context.Canceled", err)
	}
	if m := nextEvents(t, sub)[0].Message; m == nil || m.ID != (engine.ID{Epoch: 20, Seq: 2}) {
		t.Fatalf("got %+v, want message k-2", m)
	}
	if _, err := sub.Next(cancelled, nil); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Next with a cancelled context, nothing queued: %v, want ErrClosed", err)
	}
	if err := nextError(t, sub); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("Next: %v, want ErrClosed", err)
	}
}

func TestRemoteSourceProtocolErrors(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name   string
		frames []*heraldv1.SubscribeResponse
	}{
		{"bad message id", []*heraldv1.SubscribeResponse{
			subscribedFrame([]string{"a"}, "k-1"),
			{Frame: &heraldv1.SubscribeResponse_Message{Message: &heraldv1.Message{Topic: "a", Id: "nope"}}},
		}},
		{"bad gap id", []*heraldv1.SubscribeResponse{
			subscribedFrame([]string{"a"}, "k-1"),
			{Frame: &heraldv1.SubscribeResponse_HistoryGap{HistoryGap: &heraldv1.HistoryGap{RequestedId: "?"}}},
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			addr := startFake(t, func(_ *heraldv1.SubscribeRequest, st grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error {
				for _, f := range tt.frames {
					if err := st.Send(f); err != nil {
						return err
					}
				}
				<-st.Context().Done()
				return nil
			})
			sub := subscribeRemote(t, addr, RemoteConfig{})
			if err := nextError(t, sub); !errors.Is(err, engine.ErrClosed) {
				t.Fatalf("Next: %v, want ErrClosed", err)
			}
		})
	}

	// A first frame that is not a confirmation refuses the subscription.
	addr := startFake(t, func(_ *heraldv1.SubscribeRequest, st grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error {
		return st.Send(&heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Heartbeat{Heartbeat: &heraldv1.Heartbeat{}}})
	})
	_, err := NewRemoteSource(dial(t, addr), RemoteConfig{}).Subscribe(testContext(t), Request{Topics: []string{"a"}})
	wantCode(t, err, codes.Unavailable, msgUpstreamUnavailable)
}

func TestRemoteSourceSilentUpstreamIsErrClosed(t *testing.T) {
	t.Parallel()
	addr := startFake(t, func(req *heraldv1.SubscribeRequest, st grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error {
		if err := st.Send(subscribedFrame(req.GetTopics(), "k-1")); err != nil {
			return err
		}
		<-st.Context().Done() // never a heartbeat
		return nil
	})
	sub := subscribeRemote(t, addr, RemoteConfig{UpstreamTimeout: 100 * time.Millisecond})
	start := time.Now()
	err := nextError(t, sub)
	if !errors.Is(err, engine.ErrClosed) || !errors.Is(err, errUpstreamSilent) {
		t.Fatalf("Next: %v, want ErrClosed for a silent upstream", err)
	}
	if d := time.Since(start); d < 90*time.Millisecond {
		t.Fatalf("a silent upstream was given up after %v, before its timeout", d)
	}
}

func TestRemoteSourceSetupIsBoundedByItsContext(t *testing.T) {
	t.Parallel()
	addr := startFake(t, func(_ *heraldv1.SubscribeRequest, st grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error {
		<-st.Context().Done() // never confirms
		return nil
	})
	ctx, cancel := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel()
	_, err := NewRemoteSource(dial(t, addr), RemoteConfig{}).Subscribe(ctx, Request{Topics: []string{"a"}})
	wantCode(t, err, codes.DeadlineExceeded, "")
}

func TestRemoteSourceInternsMessages(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, server.Config{}, memory.Options{})
	src := NewRemoteSource(dial(t, up.addr), RemoteConfig{})
	ctx := testContext(t)
	a, err := src.Subscribe(ctx, Request{Topics: []string{"news"}})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	b, err := src.Subscribe(ctx, Request{Topics: []string{"news.>", "news"}})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	id := publish(t, up.eng, "news", "shared")
	ma, mb := collect(t, a, 1)[0].Message, collect(t, b, 1)[0].Message
	if ma == nil || ma != mb || ma.ID != id {
		t.Fatalf("two subscriptions got %p and %p, want one *engine.Message", ma, mb)
	}
	// Its encodings are shared too.
	key := engine.NewEncodingKey("test")
	ma.SetEncoding(key, "frame")
	if mb.Encoding(key) != "frame" {
		t.Fatal("the encoding cache is not shared")
	}

	// Once nobody holds it, the message and its entry go.
	interned := src.(*remoteSource).msgs
	if n := interned.size(); n != 1 {
		t.Fatalf("%d interned messages, want 1", n)
	}
	ma, mb = nil, nil
	waitFor(t, testTimeout, "the entry of a freed message to go", func() bool {
		runtime.GC()
		return interned.size() == 0
	})
	_, _ = ma, mb
}

func TestInternerKeepsNewerMessages(t *testing.T) {
	var in interner
	id := engine.ID{Epoch: 1, Seq: 1}
	builds := 0
	build := func() *engine.Message { builds++; return &engine.Message{ID: id} }
	m1 := in.intern(id, build)
	if m2 := in.intern(id, build); m2 != m1 || builds != 1 {
		t.Fatalf("second intern built again (%d) or gave another message", builds)
	}
	runtime.KeepAlive(m1)
	m1 = nil
	waitFor(t, testTimeout, "the freed entry to go", func() bool {
		runtime.GC()
		return in.size() == 0
	})
	m3 := in.intern(id, build)
	if builds != 2 || in.size() != 1 {
		t.Fatalf("after the first was freed: %d builds, %d entries", builds, in.size())
	}
	runtime.KeepAlive(m3)
	_ = m1
}

// TestRemoteSourceTryNextAndReady: a reader that polls with TryNext and
// waits on Ready, as the browser transports do, gets every message in
// order, then what came before the upstream's failure, then the failure.
func TestRemoteSourceTryNextAndReady(t *testing.T) {
	t.Parallel()
	up := startUpstream(t, server.Config{}, memory.Options{})
	sub := subscribeRemote(t, up.addr, RemoteConfig{})
	if evs, err := sub.TryNext(nil); len(evs) != 0 || err != nil {
		t.Fatalf("TryNext with nothing ready: %+v, %v", evs, err)
	}
	const n = 30
	var want []engine.ID
	for range n {
		want = append(want, publish(t, up.eng, "a", "m"))
	}
	var got []engine.ID
	for len(got) < n {
		evs, err := sub.TryNext(nil)
		if err != nil {
			t.Fatalf("TryNext: %v", err)
		}
		for _, ev := range evs {
			got = append(got, ev.Message.ID)
		}
		if len(evs) == 0 {
			select {
			case <-sub.Ready():
			case <-time.After(testTimeout):
				t.Fatalf("Ready gave nothing with %d of %d messages received", len(got), n)
			}
		}
	}
	if !slices.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	up.stop(t)
	select {
	case <-sub.Ready():
	case <-time.After(testTimeout):
		t.Fatal("Ready gave nothing after the upstream stopped")
	}
	waitRemote(t, sub, "the stream's end", func(rs *remoteSubscription) bool { return rs.err != nil })
	if _, err := sub.TryNext(nil); !errors.Is(err, engine.ErrClosed) {
		t.Fatalf("TryNext after the upstream stopped: %v, want ErrClosed", err)
	}
}
