package server

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/metrics"
)

func TestSubscribeWildcards(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)

	st, sub := subscribe(ctx, t, c, &heraldv1.SubscribeRequest{
		Topics: []string{"orders.*.created", "billing.>", "orders.*.created", "billing.>"},
	})
	if got := strings.Join(sub.GetTopics(), ","); got != "orders.*.created,billing.>" {
		t.Errorf("subscribed topics = %q, want de-duplicated patterns in order", got)
	}

	var want []string
	for _, tc := range []struct {
		topic string
		match bool
	}{
		{"orders.eu.created", true},
		{"orders.eu.deleted", false},
		{"orders.created", false},
		{"orders.eu.x.created", false},
		{"billing", false},
		{"billing.invoice", true},
		{"billing.invoice.paid", true},
		{"other", false},
	} {
		res := publish(ctx, t, c, tc.topic, tc.topic)
		if tc.match {
			want = append(want, res.GetId()+" "+tc.topic)
		}
	}
	last := publish(ctx, t, c, "orders.us.created", "last")
	want = append(want, last.GetId()+" orders.us.created")

	// Messages arrive in order, so the last one closes the list.
	var got []string
	for {
		m := recvMessage(t, st)
		got = append(got, m.GetId()+" "+m.GetTopic())
		if m.GetId() == last.GetId() {
			break
		}
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("received\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestSubscribeResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)

	var ids []string
	for i := range 5 {
		ids = append(ids, publish(ctx, t, c, "t", fmt.Sprint(i)).GetId())
	}
	st, _ := subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"t"}, LastEventId: ids[1]})
	ids = append(ids, publish(ctx, t, c, "t", "5").GetId())

	for i := 2; i < 6; i++ {
		f := recvFrame(t, st)
		m := f.GetMessage()
		if m == nil || m.GetId() != ids[i] || string(m.GetData()) != fmt.Sprint(i) {
			t.Fatalf("frame %d = %v, want message %s", i, f, ids[i])
		}
	}

	// Resuming from the subscribed frame's current_id misses nothing
	// published after the subscription started.
	st2, sub := subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"t"}})
	if sub.GetCurrentId() != ids[5] {
		t.Fatalf("current_id = %q, want %q", sub.GetCurrentId(), ids[5])
	}
	id6 := publish(ctx, t, c, "t", "6").GetId()
	if m := recvMessage(t, st2); m.GetId() != id6 {
		t.Fatalf("live message %v, want %s", m, id6)
	}
	st3, _ := subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"t"}, LastEventId: sub.GetCurrentId()})
	if m := recvMessage(t, st3); m.GetId() != id6 {
		t.Fatalf("resumed from current_id got %v, want %s", m, id6)
	}
}

func TestSubscribeHistoryGap(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{HeartbeatInterval: time.Hour}, memory.Options{HistorySize: 2})
	ctx := testContext(t)
	c := e.client(t)

	var ids []string
	for i := range 5 {
		ids = append(ids, publish(ctx, t, c, "t", fmt.Sprint(i)).GetId())
	}

	st, _ := subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"t"}, LastEventId: ids[0]})
	f := recvFrame(t, st)
	gap := f.GetHistoryGap()
	if gap == nil {
		t.Fatalf("first frame after subscribed = %v, want a history gap", f)
	}
	if gap.GetReason() != heraldv1.HistoryGap_REASON_TRUNCATED || gap.GetRequestedId() != ids[0] ||
		gap.GetFirstAvailableId() != ids[3] || strings.Join(gap.GetTopics(), ",") != "t" {
		t.Errorf("gap = %v, want truncated from %s, first available %s, topics [t]", gap, ids[0], ids[3])
	}
	for _, want := range ids[3:] {
		if m := recvMessage(t, st); m.GetId() != want {
			t.Fatalf("got %v, want %s", m, want)
		}
	}

	// An id of another epoch (an earlier run) replays everything retained
	// after an epoch-changed notice.
	cur, err := engine.ParseID(ids[4])
	if err != nil {
		t.Fatal(err)
	}
	old := engine.ID{Epoch: cur.Epoch + 1, Seq: 3}.String()
	st2, _ := subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"t"}, LastEventId: old})
	f = recvFrame(t, st2)
	if g := f.GetHistoryGap(); g == nil || g.GetReason() != heraldv1.HistoryGap_REASON_EPOCH_CHANGED || g.GetRequestedId() != old {
		t.Fatalf("frame = %v, want an epoch-changed gap for %s", f, old)
	}
	for _, want := range ids[3:] {
		if m := recvMessage(t, st2); m.GetId() != want {
			t.Fatalf("got %v, want %s", m, want)
		}
	}
}

func TestSubscribeValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)
	newest := publish(ctx, t, c, "t", "x").GetId()
	id, err := engine.ParseID(newest)
	if err != nil {
		t.Fatal(err)
	}
	future := engine.ID{Epoch: id.Epoch, Seq: id.Seq + 5}.String()

	tooMany := make([]string, MaxTopics+1)
	for i := range tooMany {
		tooMany[i] = fmt.Sprint("t", i)
	}
	tests := []struct {
		name string
		req  *heraldv1.SubscribeRequest
		msg  string
	}{
		{"no topics", &heraldv1.SubscribeRequest{}, "at least one topic"},
		{"too many topics", &heraldv1.SubscribeRequest{Topics: tooMany}, "257 given; the limit is 256"},
		{"bad pattern", &heraldv1.SubscribeRequest{Topics: []string{"a", "a.>.b"}}, `topics[1]: pattern "a.>.b": '>' may only be the last token`},
		{"partial wildcard", &heraldv1.SubscribeRequest{Topics: []string{"a.b*"}}, "a wildcard must be a whole token"},
		{"empty topic", &heraldv1.SubscribeRequest{Topics: []string{""}}, "topic is empty"},
		{"bad id", &heraldv1.SubscribeRequest{Topics: []string{"a"}, LastEventId: "not-an-id"}, `last_event_id "not-an-id" is not a message id`},
		{"future id", &heraldv1.SubscribeRequest{Topics: []string{"a"}, LastEventId: future}, `last_event_id "` + future + `" is ahead of the stream`},
	}
	for _, tt := range tests {
		st, err := c.Subscribe(ctx, tt.req)
		if err != nil {
			t.Fatal(err)
		}
		_, err = st.Recv()
		wantStatus(t, err, codes.InvalidArgument, tt.msg)
	}
	if got := value(t, e.met.Refused.WithLabelValues(metrics.TransportGRPC, reasonInvalid)); got != float64(len(tests)) {
		t.Errorf("refused = %v, want %d", got, len(tests))
	}
	// MaxTopics distinct topics are fine.
	subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: tooMany[:MaxTopics]})
}

func TestHeartbeats(t *testing.T) {
	t.Parallel()
	const interval = 50 * time.Millisecond
	e := newEnv(t, Config{HeartbeatInterval: interval}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)

	st, sub := subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"idle"}})
	if got := sub.GetHeartbeatInterval().AsDuration(); got != interval {
		t.Errorf("heartbeat_interval = %v, want %v", got, interval)
	}
	var last time.Time
	for i := range 3 {
		f, err := st.Recv()
		if err != nil {
			t.Fatal(err)
		}
		hb := f.GetHeartbeat()
		if hb == nil {
			t.Fatalf("frame %d = %v, want a heartbeat on an idle stream", i, f)
		}
		ts := hb.GetTime().AsTime()
		if !ts.After(last) {
			t.Errorf("heartbeat time %v not after the previous %v", ts, last)
		}
		last = ts
	}

	// A message in between is delivered as usual and the heartbeats go on.
	res := publish(ctx, t, c, "idle", "x")
	if m := recvMessage(t, st); m.GetId() != res.GetId() {
		t.Fatalf("got %v, want %s", m, res.GetId())
	}
	f, err := st.Recv()
	if err != nil || f.GetHeartbeat() == nil {
		t.Fatalf("after a message got %v, %v; want a heartbeat", f, err)
	}
}

// A subscriber that stops reading overflows its queue and is closed with
// RESOURCE_EXHAUSTED; publishers and another subscriber are unaffected.
func TestSlowConsumerQueueOverflow(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{
		HeartbeatInterval: time.Hour,
		WriteTimeout:      time.Hour, // only the queue bound applies
		QueueLen:          8,
	}, memory.Options{})
	ctx := testContext(t)

	// Small HTTP/2 windows (which also turn off window growth) keep what
	// the transport absorbs for the stalled client to about 128 KiB.
	slowClient := e.client(t, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	slow, _ := subscribe(ctx, t, slowClient, &heraldv1.SubscribeRequest{Topics: []string{"firehose"}})
	fast, _ := subscribe(ctx, t, e.client(t), &heraldv1.SubscribeRequest{Topics: []string{"firehose"}})

	// The publisher waits for the reading subscriber to get each message,
	// so that only the stalled one can fall behind, however busy the
	// machine.
	const n, size = 300, 8 << 10 // 2.4 MB, far past windows and queue
	pub := e.client(t)
	payload := strings.Repeat("x", size)
	ids := make([]string, n)
	for i := range n {
		ids[i] = publish(ctx, t, pub, "firehose", payload).GetId()
		if m := recvMessage(t, fast); m.GetId() != ids[i] {
			t.Fatalf("the reading subscriber got %s, want %s", m.GetId(), ids[i])
		}
	}

	msgs, err := recvUntilError(slow)
	wantStatus(t, err, codes.ResourceExhausted, msgSlowConsumer)
	if len(msgs) == 0 || len(msgs) >= n {
		t.Fatalf("slow subscriber got %d messages, want some but not all %d", len(msgs), n)
	}
	for i, m := range msgs {
		if m.GetId() != ids[i] {
			t.Fatalf("slow subscriber message %d is %s, want %s: a prefix in order", i, m.GetId(), ids[i])
		}
	}
	grpcM := e.met.Transport(metrics.TransportGRPC)
	if got := value(t, grpcM.SlowConsumers); got != 1 {
		t.Errorf("slow consumers = %v, want 1", got)
	}
	waitFor(t, testTimeout, "the slow subscription to end", func() bool { return value(t, grpcM.Subscriptions) == 1 })

	// It resumes from its last message without loss.
	resumed, _ := subscribe(ctx, t, slowClient, &heraldv1.SubscribeRequest{
		Topics: []string{"firehose"}, LastEventId: msgs[len(msgs)-1].GetId(),
	})
	for i := len(msgs); i < n; i++ {
		if m := recvMessage(t, resumed); m.GetId() != ids[i] {
			t.Fatalf("resumed subscriber got %s, want %s", m.GetId(), ids[i])
		}
	}
}

// A subscriber that stops reading while its queue has room is caught by
// the write timeout: the server frees the stream without any help from the
// client, which finds RESOURCE_EXHAUSTED when it reads again.
func TestSlowConsumerWriteTimeout(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{
		HeartbeatInterval: time.Hour,
		WriteTimeout:      100 * time.Millisecond,
		QueueLen:          100000,
		QueueBytes:        1 << 30,
	}, memory.Options{})
	ctx := testContext(t)

	slowClient := e.client(t, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10))
	slow, _ := subscribe(ctx, t, slowClient, &heraldv1.SubscribeRequest{Topics: []string{"firehose"}})
	grpcM := e.met.Transport(metrics.TransportGRPC)

	pub := e.client(t)
	payload := strings.Repeat("x", 16<<10)
	for range 100 { // 1.6 MB: the send blocks on flow control
		publish(ctx, t, pub, "firehose", payload)
	}
	waitFor(t, testTimeout, "the stalled stream to be aborted", func() bool {
		return value(t, grpcM.SlowConsumers) == 1 && value(t, grpcM.Subscriptions) == 0
	})

	msgs, err := recvUntilError(slow)
	wantStatus(t, err, codes.ResourceExhausted, msgWriteStalled)
	if len(msgs) == 0 || len(msgs) >= 100 {
		t.Errorf("stalled subscriber read %d messages after it resumed reading, want some but not all", len(msgs))
	}
}
