package sse

import (
	"bufio"
	"bytes"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald/engine"
)

func TestMessageFrameBytes(t *testing.T) {
	m := &engine.Message{
		ID: engine.ID{Epoch: 36*36 + 1, Seq: 42}, Topic: "news", Event: "greeting",
		Data: []byte("first line\r\nsecond\rthird\n"), Time: time.Date(2026, 11, 21, 14, 19, 46, 418e6, time.UTC),
	}
	want := "id: 101-42\nevent: greeting\ndata: first line\ndata: second\ndata: third\ndata: \n\n"
	if got := string(messageFrame(m, false)); got != want {
		t.Fatalf("raw frame\n%q, want\n%q", got, want)
	}
	want = "id: 101-42\ndata: " + // no event: line; the envelope names it
		`{"topic":"news","id":"101-42","data":"first line\r\nsecond\rthird\n","event":"greeting","publish_time":"2026-11-21T14:19:46.418Z"}` +
		"\n\n"
	if got := string(messageFrame(m, true)); got != want {
		t.Fatalf("envelope frame\n%q, want\n%q", got, want)
	}
	// Both forms are cached, apart.
	raw1, raw2 := messageFrame(m, false), messageFrame(m, false)
	env := messageFrame(m, true)
	if &raw1[0] != &raw2[0] || &raw1[0] == &env[0] {
		t.Fatal("frames are not cached once per form")
	}

	empty := &engine.Message{ID: engine.ID{Epoch: 1, Seq: 1}}
	if got := string(messageFrame(empty, false)); got != "id: 1-1\ndata: \n\n" {
		t.Fatalf("empty payload frame %q", got)
	}
}

func TestControlFrames(t *testing.T) {
	now := time.Date(2026, 11, 21, 14, 20, 1, 5e8, time.FixedZone("X", 3600))
	if got := string(appendHeartbeat(nil, now)); got != ": heartbeat\nevent: herald.heartbeat\ndata: 2026-11-21T13:20:01Z\n\n" {
		t.Fatalf("heartbeat %q", got)
	}
	if got := string(appendRetry(nil, 2*time.Second)); got != "retry: 2000\n\n" {
		t.Fatalf("retry %q", got)
	}
	g := &engine.Gap{Topics: []string{"news"}, Requested: engine.ID{Epoch: 2, Seq: 1}, Reason: engine.GapEpochChanged}
	if got := string(appendGap(nil, g)); got != "event: herald.gap\ndata: "+
		`{"topics":["news"],"requested_id":"2-1","first_available_id":"","reason":"REASON_EPOCH_CHANGED"}`+"\n\n" {
		t.Fatalf("gap %q", got)
	}
	got := string(appendError(nil, reasonSlowConsumer, 0))
	if !strings.HasPrefix(got, "event: herald.error\ndata: {\"code\":\"slow_consumer\",") || strings.Contains(got, "retry") {
		t.Fatalf("error %q", got)
	}
	if got := string(appendError(nil, reasonGoingAway, 2500*time.Millisecond)); !strings.HasPrefix(got, "retry: 2500\nevent: herald.error\n") {
		t.Fatalf("going away %q", got)
	}
}

// parseFrames parses an event stream as a browser does and returns the
// dispatched events: id, event type and data, with the last event id
// carried over as EventSource does.
func parseFrames(t testing.TB, b []byte) []frame {
	t.Helper()
	resp := &http.Response{Body: io.NopCloser(bytes.NewReader(b))}
	s := &eventStream{resp: resp, r: bufio.NewReader(resp.Body), cancel: func() {}}
	var frames []frame
	for {
		f, err := s.read()
		if err != nil {
			return frames
		}
		frames = append(frames, f)
	}
}

// FuzzMessageFrame checks that any message frames into exactly one event
// whose data a browser reads back as the payload (line breaks as LF),
// whose id is the message's, and whose event name cannot inject fields.
func FuzzMessageFrame(f *testing.F) {
	f.Add([]byte("hello"), "greeting", false)
	f.Add([]byte("a\r\nb\rc\n"), "", true)
	f.Add([]byte{0xff, '\r'}, "x\ny", false)
	f.Add([]byte(""), "herald.error", false)
	f.Fuzz(func(t *testing.T, data []byte, event string, envelope bool) {
		m := &engine.Message{ID: engine.ID{Epoch: 7, Seq: 9}, Topic: "t", Data: data, Event: event, Time: time.Unix(1, 0)}
		b := appendMessage(nil, m, envelope)
		frames := parseFrames(t, b)
		if len(frames) != 1 {
			t.Fatalf("%q framed as %d events", b, len(frames))
		}
		fr := frames[0]
		if fr.id != "7-9" || fr.retry != "" || len(fr.comments) != 0 || !fr.hasData {
			t.Fatalf("frame %+v", fr)
		}
		if fr.event != "" && (fr.event != event || strings.HasPrefix(fr.event, reservedPrefix)) {
			t.Fatalf("event %q from name %q", fr.event, event)
		}
		if !envelope && utf8.Valid(data) {
			want := strings.ReplaceAll(strings.ReplaceAll(string(data), "\r\n", "\n"), "\r", "\n")
			if fr.data != want {
				t.Fatalf("data %q, want %q", fr.data, want)
			}
		}
		if envelope && strings.ContainsAny(fr.data, "\r\n") {
			t.Fatalf("envelope data spans lines: %q", fr.data)
		}
		if envelope && fr.event != "" {
			t.Fatalf("envelope frame has event %q; it must reach message listeners", fr.event)
		}
	})
}

// A message's frame is encoded once and shared: every stream that sends
// it gets the same bytes, not a copy of its own.
func TestMessageFrameEncodedOnce(t *testing.T) {
	m := &engine.Message{ID: engine.ID{Epoch: 7, Seq: 1}, Topic: "news", Data: []byte("hello")}
	for _, envelope := range []bool{false, true} {
		a, b := messageFrame(m, envelope), messageFrame(m, envelope)
		if &a[0] != &b[0] {
			t.Errorf("envelope %v: the second stream got a frame of its own", envelope)
		}
	}
	if raw, env := messageFrame(m, false), messageFrame(m, true); &raw[0] == &env[0] {
		t.Error("raw and envelope frames share one encoding")
	}
}

// Heartbeats are lightly jittered: a tenth of the interval at most, never
// later than the interval, and not all the same.
func TestHeartbeatJitter(t *testing.T) {
	c := &clock{interval: time.Second}
	seen := map[time.Duration]bool{}
	for range 100 {
		d := c.jittered()
		if d > time.Second || d < 900*time.Millisecond {
			t.Fatalf("jittered interval %v, want within [900ms, 1s]", d)
		}
		seen[d] = true
	}
	if len(seen) < 2 {
		t.Errorf("100 jittered intervals took %d value(s): no jitter", len(seen))
	}
}
