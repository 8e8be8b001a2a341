package ws

import (
	"bytes"
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
)

// envelopeOf is the exact "message" frame payload of a published message.
func envelopeOf(req engine.PublishRequest, res engine.PublishResult) []byte {
	return bridge.AppendEnvelope(nil, &engine.Message{
		ID: res.ID, Topic: req.Topic, Data: req.Data,
		ContentType: req.ContentType, Event: req.Event, Time: res.Time,
	}, "message")
}

func TestMessageFramesAreTheEnvelope(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=t.>")
	expect(t, c, "subscribed")
	reqs := []engine.PublishRequest{
		{Topic: "t.text", Data: []byte("hello \"world\" <&> \u2028 ✓")},
		{Topic: "t.binary", Data: []byte{0xff, 0x00, 0xfe}, ContentType: "application/octet-stream"},
		{Topic: "t.event", Data: []byte(`{"x":1}`), ContentType: "application/json", Event: "created"},
		{Topic: "t.empty", Data: nil},
		{Topic: "t.medium", Data: bytes.Repeat([]byte("m"), 300)},        // 16-bit length
		{Topic: "t.large", Data: bytes.Repeat([]byte("L"), 70_000)},      // 64-bit length
		{Topic: "t.lines", Data: []byte("line 1\nline 2\r\nline 3\x00")}, // escapes
	}
	for _, req := range reqs {
		res, err := e.eng.Publish(context.Background(), req)
		if err != nil {
			t.Fatal(err)
		}
		f := expect(t, c, "message")
		if want := envelopeOf(req, res); !bytes.Equal(f.raw, want) {
			t.Fatalf("frame for %s:\n got %.300s\nwant %.300s", req.Topic, f.raw, want)
		}
	}
	// The writer counts a delivery once the write returned, which may be
	// after the client read it.
	n := float64(len(reqs))
	waitFor(t, testTimeout, "deliveries counted", func() bool {
		return value(t, e.met.Delivered.WithLabelValues("ws")) == n &&
			value(t, e.met.Latency.WithLabelValues("ws").(prometheus.Metric)) == n
	})
}

// TestBatchedFramesParse has the writer send many frames of every header
// size at once: a resume replays them, so one Next returns them all and
// they go out in one batch. A standard client must parse every one, in
// order and byte for byte.
func TestBatchedFramesParse(t *testing.T) {
	t.Parallel()
	for _, window := range []time.Duration{-1, 0} {
		t.Run(fmt.Sprintf("coalesce=%v", window), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{
				ws:     Config{CoalesceWindow: window},
				engine: memory.Options{HistorySize: 1000},
			})
			c := e.dial(t, "?topic=b")
			start := expect(t, c, "subscribed").CurrentID
			_ = c.Close()

			sizes := []int{0, 1, 125, 126, 200, 1000, 65535, 65536, 70_000}
			var want [][]byte
			for i := range 300 {
				size := sizes[i%6]
				if i%50 == 49 {
					size = sizes[6+i/50%3]
				}
				req := engine.PublishRequest{Topic: "b", Data: bytes.Repeat([]byte{byte('a' + i%26)}, size)}
				res, err := e.eng.Publish(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				want = append(want, envelopeOf(req, res))
			}
			c = e.dial(t, "?topic=b&last_event_id="+start)
			expect(t, c, "subscribed")
			for i, w := range want {
				f := expect(t, c, "message")
				if !bytes.Equal(f.raw, w) {
					t.Fatalf("frame %d: got %.100s…, want %.100s…", i, f.raw, w)
				}
			}
		})
	}
}

func TestResumeWithoutGapOrDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=r")
	expect(t, c, "subscribed")
	var last string
	for i := range 5 {
		e.publish(t, "r", fmt.Sprint("m", i))
		last = expect(t, c, "message").msgID()
	}
	_ = c.Close()

	var missed []string
	for i := 5; i < 10; i++ {
		missed = append(missed, e.publish(t, "r", fmt.Sprint("m", i)).ID.String())
	}
	c2 := e.dial(t, "?topic=r&last_event_id="+last)
	if got := expect(t, c2, "subscribed"); got.CurrentID != missed[len(missed)-1] {
		t.Errorf("current_id %s, want the newest id %s", got.CurrentID, missed[len(missed)-1])
	}
	for _, id := range missed {
		if got := expect(t, c2, "message").msgID(); got != id {
			t.Fatalf("replayed %s, want %s", got, id)
		}
	}
	live := e.publish(t, "r", "live").ID.String()
	if got := expect(t, c2, "message").msgID(); got != live {
		t.Fatalf("live message %s, want %s", got, live)
	}

	// Before any message, the subscribed frame's current_id is the
	// position to resume from.
	c3 := e.dial(t, "?topic=quiet")
	pos := expect(t, c3, "subscribed").CurrentID
	_ = c3.Close()
	id := e.publish(t, "quiet", "while away").ID.String()
	c4 := e.dial(t, "?topic=quiet&last_event_id="+pos)
	expect(t, c4, "subscribed")
	if got := expect(t, c4, "message").msgID(); got != id {
		t.Fatalf("resume from current_id: got %s, want %s", got, id)
	}
}

func TestGapFrames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{engine: memory.Options{HistorySize: 3}})
	var ids []string
	for i := range 10 {
		ids = append(ids, e.publish(t, "g", fmt.Sprint(i)).ID.String())
	}
	c := e.dial(t, "?topic=g&last_event_id="+ids[1])
	expect(t, c, "subscribed")
	gap := expect(t, c, "gap")
	if gap.Reason != "REASON_TRUNCATED" || gap.RequestedID != ids[1] || gap.FirstAvailableID != ids[7] ||
		len(gap.Topics) != 1 || gap.Topics[0] != "g" {
		t.Fatalf("gap %s, want truncated g from %s, first available %s", gap.raw, ids[1], ids[7])
	}
	for _, id := range ids[7:] {
		if got := expect(t, c, "message").msgID(); got != id {
			t.Fatalf("got %s, want %s", got, id)
		}
	}

	// An id of another epoch: the engine restarted.
	other := memory.New(memory.Options{})
	defer other.Close()
	res, err := other.Publish(context.Background(), engine.PublishRequest{Topic: "g", Data: []byte("x")})
	if err != nil {
		t.Fatal(err)
	}
	c2 := e.dial(t, "?topic=g&last_event_id="+res.ID.String())
	expect(t, c2, "subscribed")
	if gap := expect(t, c2, "gap"); gap.Reason != "REASON_EPOCH_CHANGED" || gap.RequestedID != res.ID.String() {
		t.Fatalf("gap %s, want epoch changed from %s", gap.raw, res.ID)
	}
	for _, id := range ids[7:] {
		if got := expect(t, c2, "message").msgID(); got != id {
			t.Fatalf("after the epoch gap got %s, want %s", got, id)
		}
	}
}

func TestSourceClosedEndsWithGoingAway(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	_ = e.eng.Close()
	_, err := readUntilClose(c)
	wantClose(t, err, websocket.CloseGoingAway, "resume from your last id")
	e.waitClosed(t)
}

// TestCoalescingWaitsOnlyOnBusyConnections: with a long window, a message
// on a quiet connection goes out at once; on a busy one it waits for the
// window (less at most a tick of the shared clock, a 32nd of it), unless
// something else wakes the writer first: a client's ping is answered at
// once, and the waiting message goes out with the answer.
func TestCoalescingWaitsOnlyOnBusyConnections(t *testing.T) {
	t.Parallel()
	const window = bridge.MaxCoalesceWindow
	const held = window * 31 / 32
	e := newEnv(t, envConfig{ws: Config{CoalesceWindow: window}})
	c := e.dial(t, "?topic=c")
	expect(t, c, "subscribed")

	start := time.Now()
	e.publish(t, "c", "quiet")
	expect(t, c, "message")
	if d := time.Since(start); d >= held {
		t.Fatalf("a message on a quiet connection arrived after %v, want at once", d)
	}
	start = time.Now()
	e.publish(t, "c", "busy")
	expect(t, c, "message")
	if d := time.Since(start); d < held {
		t.Fatalf("a message on a busy connection arrived after %v, want it held for the window %v", d, window)
	}

	start = time.Now()
	id := e.publish(t, "c", "taken along").ID.String()
	send(t, c, `{"type":"ping","id":1}`)
	var got []string
	for range 2 {
		f := next(t, c)
		if f.Type == "message" && f.msgID() != id {
			t.Fatalf("got message %s, want %s", f.msgID(), id)
		}
		got = append(got, f.Type)
	}
	if d := time.Since(start); d >= held || !slices.Contains(got, "pong") || !slices.Contains(got, "message") {
		t.Fatalf("after a ping on a busy connection: %v after %v, want the pong and the waiting message at once", got, d)
	}
}
