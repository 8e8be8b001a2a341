package ws

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/engine"
)

func TestPingPong(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "")
	for _, tc := range []struct{ in, want string }{
		{`{"type":"ping","id":"x1"}`, `{"type":"pong","id":"x1"}`},
		{`{"type":"ping","id":42}`, `{"type":"pong","id":42}`},
		{`{"type":"ping","id":-1.5e3}`, `{"type":"pong","id":-1.5e3}`},
		{`{"type":"ping"}`, `{"type":"pong"}`},
		{`{"type":"ping","id":null}`, `{"type":"pong"}`},
		{`{"type":"ping","id":"a\"b\u00e9"}`, `{"type":"pong","id":"a\"bé"}`},
	} {
		send(t, c, tc.in)
		if got := expect(t, c, "pong"); string(got.raw) != tc.want {
			t.Errorf("%s: got %s, want %s", tc.in, got.raw, tc.want)
		}
	}

	// A WebSocket Ping gets a Pong with the same payload.
	pong := make(chan string, 1)
	c.SetPongHandler(func(data string) error {
		pong <- data
		return nil
	})
	if err := c.WriteControl(websocket.PingMessage, []byte("are you there"), time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	send(t, c, `{"type":"ping","id":"after"}`)
	expect(t, c, "pong") // reading runs the Pong handler
	select {
	case got := <-pong:
		if got != "are you there" {
			t.Errorf("Pong payload %q", got)
		}
	default:
		t.Error("no Pong before the next frame")
	}
}

func TestMalformedFrames(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=ok")
	expect(t, c, "subscribed")
	cases := []struct {
		in      string
		code    string
		id      string
		message string
	}{
		{`not json`, "invalid_frame", "", "not valid JSON"},
		{`{"type":"dance","id":"d1"}`, "invalid_frame", `"d1"`, `unknown frame type "dance"`},
		{`{"id":3}`, "invalid_frame", `3`, `no "type"`},
		{`[1,2]`, "invalid_frame", "", "JSON object"},
		{`{"type":"subscribe","topics":"a","id":"t"}`, "invalid_frame", `"t"`, `field "topics" must be an array of strings`},
		{`{"type":"subscribe","topics":[1]}`, "invalid_frame", "", `field "topics" must be an array of strings`},
		{`{"type":"subscribe","id":{"x":1}}`, "invalid_frame", "", `"id" must be a string or a number`},
		{`{"type":"subscribe","id":"s"}`, "invalid_argument", `"s"`, "at least one topic"},
		{`{"type":"subscribe","topics":["a..b"],"id":7}`, "invalid_argument", `7`, "topics[0]"},
		{`{"type":"subscribe","topics":["a"],"last_event_id":"zz"}`, "invalid_argument", "", "last_event_id"},
		{`{"type":"unsubscribe","topics":["x*"],"id":"u"}`, "invalid_argument", `"u"`, "topics[0]"},
		{`{"type":"unsubscribe","topics":["ok"],"last_event_id":"1-1"}`, "invalid_frame", "", "last_event_id"},
	}
	for i, tc := range cases {
		// A fresh connection every few frames, to stay under the strike
		// limit.
		if i%(maxStrikes-1) == 0 && i > 0 {
			c = e.dial(t, "?topic=ok")
			expect(t, c, "subscribed")
		}
		send(t, c, tc.in)
		f := expect(t, c, "error")
		if f.Code != tc.code || string(f.ID) != tc.id || !strings.Contains(f.Message, tc.message) {
			t.Errorf("%s: got %s, want code %s, id %s, message containing %q", tc.in, f.raw, tc.code, tc.id, tc.message)
		}
	}
	// Binary frames are refused too.
	c = e.dial(t, "")
	if err := c.WriteMessage(websocket.BinaryMessage, []byte(`{"type":"ping"}`)); err != nil {
		t.Fatal(err)
	}
	if f := expect(t, c, "error"); f.Code != "invalid_frame" || !strings.Contains(f.Message, "binary") {
		t.Errorf("binary frame: got %s", f.raw)
	}
	// The connection still works after a malformed frame, and the
	// subscription is untouched by a refused change.
	c = e.dial(t, "?topic=ok")
	expect(t, c, "subscribed")
	send(t, c, `{"type":"subscribe","topics":["bad topic"]}`)
	expect(t, c, "error")
	id := e.publish(t, "ok", "still here").ID.String()
	if got := expect(t, c, "message").msgID(); got != id {
		t.Errorf("after a refused subscribe got %s, want %s", got, id)
	}
	if got := e.refused(t, "invalid_frame") + e.refused(t, "invalid_argument"); got != float64(len(cases)+2) {
		t.Errorf("refusals %v, want %d", got, len(cases)+2)
	}
}

func TestRepeatedMalformedFramesClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	for range maxStrikes {
		send(t, c, `{"type":"nonsense"}`)
	}
	frames, err := readUntilClose(c)
	wantClose(t, err, websocket.ClosePolicyViolation, "too many malformed frames")
	if len(frames) != maxStrikes {
		t.Errorf("got %d frames before the close, want %d error frames", len(frames), maxStrikes)
	}
	e.waitClosed(t)
}

func TestFrameOverReadLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{ws: Config{ReadLimit: 1024}})
	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	// Within the limit is fine.
	send(t, c, `{"type":"ping","id":"`+strings.Repeat("x", 900)+`"}`)
	expect(t, c, "pong")
	send(t, c, `{"type":"ping","id":"`+strings.Repeat("x", 100_000)+`"}`)
	_, err := readUntilClose(c)
	wantClose(t, err, websocket.CloseMessageTooBig, "read limit of 1024 bytes")
	e.waitClosed(t)
	if got := e.refused(t, "too_large"); got != 1 {
		t.Errorf("too_large refusals %v, want 1", got)
	}
}

func TestClientClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	msg := websocket.FormatCloseMessage(websocket.CloseNormalClosure, "bye")
	if err := c.WriteControl(websocket.CloseMessage, msg, time.Now().Add(testTimeout)); err != nil {
		t.Fatal(err)
	}
	_, err := readUntilClose(c)
	wantClose(t, err, websocket.CloseNormalClosure, "")
	e.waitClosed(t)
	if got := e.subscriptions(t); got != 0 {
		t.Errorf("subscriptions gauge %v, want 0", got)
	}
}

func TestAppendString(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"", "plain", `quote " and \ backslash`, "tab\tnew\nline\rcr", "\x00\x01\x1f\x7f",
		"héllo ✓ 😀", "\u2028\u2029", "bad \xff utf-8 \xc3", "<script>&amp;</script>",
	} {
		checkAppendString(t, s)
	}
}

func FuzzAppendString(f *testing.F) {
	f.Add("hello \"x\"\n")
	f.Add("\xff\xfe")
	f.Fuzz(func(t *testing.T, s string) { checkAppendString(t, s) })
}

// checkAppendString checks that appendString makes valid JSON and UTF-8
// that decodes to s (with invalid bytes replaced).
func checkAppendString(t *testing.T, s string) {
	t.Helper()
	b := appendString([]byte("x"), s)
	if b[0] != 'x' {
		t.Fatal("appendString overwrote its prefix")
	}
	b = b[1:]
	if !utf8.Valid(b) {
		t.Fatalf("%q encoded as invalid UTF-8 %q", s, b)
	}
	var got string
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatalf("%q encoded as %s: %v", s, b, err)
	}
	// Converting to runes turns each invalid byte into U+FFFD, as
	// appendString does.
	if want := string([]rune(s)); got != want {
		t.Fatalf("%q round-tripped to %q", s, got)
	}
}

func FuzzParseRequest(f *testing.F) {
	for _, s := range []string{
		`{"type":"subscribe","topics":["a","b.>"],"last_event_id":"x-1","id":"s"}`,
		`{"type":"unsubscribe","topics":["a"],"id":2}`,
		`{"type":"auth","token":"t","id":3}`,
		`{"type":"ping","id":"\ud800"}`,
		`{"type":"ping","id":1e999}`,
		`{"type":7}`, `null`, `"x"`, `{`, "\xff",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r := parseRequest(data)
		switch r.kind {
		case reqInvalid:
			if r.code == "" || r.message == "" {
				t.Fatalf("%q: invalid without code or message", data)
			}
		case reqSubscribe, reqUnsubscribe:
			if len(r.topics) == 0 {
				t.Fatalf("%q: accepted without topics", data)
			}
		case reqAuth:
			if r.token == "" || r.topics != nil {
				t.Fatalf("%q: auth accepted without a token, or with topics", data)
			}
		case reqPing:
		default:
			t.Fatalf("%q: kind %d", data, r.kind)
		}
		if r.id != nil {
			// The id goes into a text frame verbatim: valid JSON, valid
			// UTF-8.
			if !json.Valid(r.id) || !utf8.Valid(r.id) {
				t.Fatalf("%q: id %q is not valid JSON text", data, r.id)
			}
			var b batch
			b.pong(r.id)
			if p := payloadOf(t, b.vec[0]); !json.Valid(p) {
				t.Fatalf("%q: pong frame %q is not JSON", data, p)
			}
		}
	})
}

// payloadOf checks the header of an unmasked, final server frame and
// returns its payload.
func payloadOf(t testing.TB, f []byte) []byte {
	t.Helper()
	if len(f) < 2 || f[0]&0x80 == 0 || f[1]&0x80 != 0 {
		t.Fatalf("frame % x: not a final unmasked frame", f[:min(len(f), 2)])
	}
	n, h := uint64(f[1]), 2
	switch n {
	case 126:
		n, h = uint64(binary.BigEndian.Uint16(f[2:])), 4
	case 127:
		n, h = binary.BigEndian.Uint64(f[2:]), 10
	}
	if uint64(len(f)-h) != n {
		t.Fatalf("frame header says %d bytes, frame has %d", n, len(f)-h)
	}
	return f[h:]
}

func TestFrameHeaders(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 125, 126, 127, 65535, 65536, 1 << 20} {
		var b batch
		mark := b.begin()
		b.ctl = append(b.ctl, bytes.Repeat([]byte("z"), n)...)
		b.end(mark, finText)
		f := b.vec[0]
		if f[0] != 0x81 {
			t.Errorf("%d bytes: first byte %#x, want 0x81", n, f[0])
		}
		if p := payloadOf(t, f); len(p) != n {
			t.Errorf("%d bytes: payload of %d", n, len(p))
		}
		if len(f) != headerLen(n)+n {
			t.Errorf("%d bytes: frame of %d, want %d", n, len(f), headerLen(n)+n)
		}
	}
	var b batch
	b.closeFrame(4000, strings.Repeat("é", 100))
	p := payloadOf(t, b.vec[0])
	if binary.BigEndian.Uint16(p) != 4000 || len(p) > 125 || !utf8.Valid(p[2:]) {
		t.Errorf("close frame payload %q: want code 4000 and a clipped UTF-8 reason", p)
	}
	b.reset()
	b.closeFrame(websocket.CloseNoStatusReceived, "ignored")
	if p := payloadOf(t, b.vec[0]); len(p) != 0 {
		t.Errorf("close 1005 payload %q, want empty", p)
	}
}

func TestProtocolErrorClose(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	// A client frame must be masked: this one is not.
	if _, err := c.NetConn().Write([]byte{0x81, 0x02, 'h', 'i'}); err != nil {
		t.Fatal(err)
	}
	_, err := readUntilClose(c)
	wantClose(t, err, websocket.CloseProtocolError, "protocol error: bad MASK")
	e.waitClosed(t)
	if got := e.refused(t, "protocol_error"); got != 1 {
		t.Errorf("protocol_error refusals %v, want 1", got)
	}
}

// TestPipelinedFrames: frames that reach the server in one segment are all
// read, although the reader waits for input only when its buffer is empty.
func TestPipelinedFrames(t *testing.T) {
	t.Parallel()
	// No Ping may bring new input before the test's read deadline.
	e := newEnv(t, envConfig{ws: Config{HeartbeatInterval: time.Hour}})
	c := e.dial(t, "")
	var raw []byte
	for i := range 3 {
		payload := fmt.Appendf(nil, `{"type":"ping","id":%d}`, i)
		// A masked text frame with a zero mask key, which leaves the
		// payload as it is.
		raw = append(raw, 0x81, 0x80|byte(len(payload)), 0, 0, 0, 0)
		raw = append(raw, payload...)
	}
	if _, err := c.NetConn().Write(raw); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if f := expect(t, c, "pong"); string(f.ID) != fmt.Sprint(i) {
			t.Fatalf("pong %s, want id %d", f.raw, i)
		}
	}
}

// A message's frame is encoded once and shared by every connection that
// sends it.
func TestMessageFrameEncodedOnce(t *testing.T) {
	m := &engine.Message{ID: engine.ID{Epoch: 7, Seq: 1}, Topic: "news", Data: []byte("hello")}
	if a, b := messageFrame(m), messageFrame(m); &a[0] != &b[0] {
		t.Error("the second connection got a frame of its own")
	}
}
