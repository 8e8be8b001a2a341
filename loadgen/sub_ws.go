package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/gorilla/websocket"
)

// wsReadLimit bounds one frame from the server: a 1 MiB message as a JSON
// envelope, with room to spare.
const wsReadLimit = 4 << 20

// wsConn is a subscriber over GET /v1/ws.
type wsConn struct {
	dialer *websocket.Dialer
	url    string

	conn *websocket.Conn
	buf  bytes.Buffer // the frame being read, reused
}

// newWSConn returns a subscriber that dials base (ws://host:port) +
// /v1/ws for topic with dialer.
func newWSConn(dialer *websocket.Dialer, base, topic string) *wsConn {
	q := url.Values{"topic": {topic}}
	return &wsConn{dialer: dialer, url: base + "/v1/ws?" + q.Encode()}
}

func (c *wsConn) open(ctx context.Context) error {
	conn, resp, err := c.dialer.DialContext(ctx, c.url, nil)
	if err != nil {
		if resp != nil {
			herr := httpError(resp)
			_ = resp.Body.Close()
			return fmt.Errorf("GET /v1/ws: %w", herr)
		}
		return fmt.Errorf("GET /v1/ws: %w", err)
	}
	c.conn = conn
	conn.SetReadLimit(wsReadLimit)
	if d, ok := ctx.Deadline(); ok {
		_ = conn.SetReadDeadline(d)
	}
	for {
		typ, _, err := c.next()
		if err != nil {
			return fmt.Errorf("GET /v1/ws: before the subscription was confirmed: %w", err)
		}
		switch string(typ) {
		case "subscribed":
			_ = conn.SetReadDeadline(time.Time{})
			return nil
		case "error":
			return fmt.Errorf("GET /v1/ws: %w", &serverClosedError{reason: errorCode(c.buf.Bytes())})
		}
	}
}

// next reads the next frame and returns its type and data fields.
func (c *wsConn) next() (typ, data []byte, err error) {
	for {
		mt, r, err := c.conn.NextReader()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				return nil, nil, &serverClosedError{reason: fmt.Sprintf("close %d %s", ce.Code, ce.Text)}
			}
			return nil, nil, err
		}
		if mt != websocket.TextMessage {
			continue
		}
		c.buf.Reset()
		if _, err := c.buf.ReadFrom(r); err != nil {
			return nil, nil, err
		}
		typ, data, _, ok := decodeFrame(c.buf.Bytes())
		if !ok {
			return nil, nil, fmt.Errorf("frame is not a JSON object: %.100q", c.buf.Bytes())
		}
		return typ, data, nil
	}
}

func (c *wsConn) read(s *subscriber) error {
	for {
		typ, data, err := c.next()
		if err != nil {
			return err
		}
		switch string(typ) {
		case "message":
			s.message(data)
		case "heartbeat":
			s.heartbeat()
		case "gap":
			s.gap()
		case "error":
			// An error frame answers a bad client frame; this client sends
			// none. Counted as unexpected; the stream goes on.
			s.foreign++
		}
	}
}

func (c *wsConn) close() {
	conn := c.conn
	if conn == nil {
		return
	}
	// A close frame first, so that the server sees a normal closure rather
	// than a reset; the write is bounded and may race the read only as
	// gorilla allows (control frames may be written concurrently).
	_ = conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, "done"),
		time.Now().Add(time.Second))
	_ = conn.Close()
}
