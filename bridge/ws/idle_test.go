package ws

import (
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// TestPongFramesTakenByTheReader: Pongs the reader takes itself keep the
// connection open like any other; a Pong pipelined with a request frame is
// consumed exactly, a Pong split across segments is still read whole, and
// a Pong that breaks the protocol is refused as before.
func TestPongFramesTakenByTheReader(t *testing.T) {
	t.Parallel()
	const interval = time.Second
	e := newEnv(t, envConfig{ws: Config{HeartbeatInterval: interval}})
	c := e.dial(t, "?topic=a")
	expect(t, c, "subscribed")
	// Answer no Pings: the Pongs below are all the server gets.
	c.SetPingHandler(func(string) error { return nil })
	raw := c.NetConn()
	pong := func(payload string) []byte {
		// Masked with a zero key, which leaves the payload as it is.
		return append([]byte{finPong, 0x80 | byte(len(payload)), 0, 0, 0, 0}, payload...)
	}
	ping := []byte(`{"type":"ping","id":7}`)
	request := append([]byte{finText, 0x80 | byte(len(ping)), 0, 0, 0, 0}, ping...)

	// Unsolicited Pongs, one every half interval, for three intervals:
	// without them the read deadline (two intervals) closes the
	// connection.
	start := time.Now()
	for i := 0; time.Since(start) < 3*interval; i++ {
		var out []byte
		switch i % 3 {
		case 0: // a Pong and a request in one segment
			out = append(pong("abc"), request...)
		case 1: // an empty Pong
			out = pong("")
		case 2: // a Pong cut in two segments, then a request
			p := pong("0123456789")
			if _, err := raw.Write(p[:4]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			out = append(p[4:], request...)
		}
		if _, err := raw.Write(out); err != nil {
			t.Fatal(err)
		}
		if i%3 != 1 {
			if f := readUntil(t, c, "pong"); string(f.ID) != "7" {
				t.Fatalf("pong %s, want id 7", f.raw)
			}
		}
		time.Sleep(interval / 2)
	}
	if got := e.connections(t); got != 1 {
		t.Fatalf("connections gauge %v after %v of Pongs only, want 1", got, time.Since(start))
	}

	// A client frame must be masked: this Pong, as long as a masked
	// empty one, is not.
	if _, err := raw.Write([]byte{finPong, 0x04, 'a', 'b', 'c', 'd'}); err != nil {
		t.Fatal(err)
	}
	_, err := readUntilClose(c)
	wantClose(t, err, websocket.CloseProtocolError, "protocol error: bad MASK")
	e.waitClosed(t)
}

// readUntil reads frames, skipping heartbeats, until one of type typ.
func readUntil(t *testing.T, c *websocket.Conn, typ string) frame {
	t.Helper()
	for {
		f := readFrame(t, c)
		if f.Type == typ {
			return f
		}
		if f.Type != "heartbeat" {
			t.Fatalf("got %s, want a %s frame", f.raw, typ)
		}
	}
}
