package ws

import (
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"github.com/gorilla/websocket"
)

// Error frames for frames that are not JSON text.
const msgBinary = "binary frames are not supported; send JSON text frames"

// readLoop is the connection's reader: it reads client frames with
// gorilla, keeps the read deadline ahead of the client's traffic and
// Pongs, and hands every frame to the writer. It never writes.
func (c *conn) readLoop() {
	defer close(c.readDone)
	ws := c.ws
	ws.SetReadLimit(c.h.cfg.ReadLimit)
	c.extendRead()
	ws.SetPongHandler(func(string) error {
		c.extendRead()
		return nil
	})
	ws.SetPingHandler(func(data string) error {
		c.extendRead()
		if !c.ending() {
			c.post(&request{kind: reqControlPong, payload: []byte(data)})
		}
		return nil
	})
	// The writer answers a close frame once the reader has returned.
	ws.SetCloseHandler(func(int, string) error { return nil })
	wait := newReadWaiter(c.raw)
	for {
		if wait != nil && c.br != nil {
			if c.br.Buffered() == 0 {
				if err := wait(); err != nil {
					c.readFailed(err)
					return
				}
				// Input is there: take it into the buffer without blocking.
				if _, err := c.br.Peek(1); err != nil {
					c.readFailed(err)
					return
				}
			}
			if c.takePong() {
				continue
			}
		}
		typ, data, err := ws.ReadMessage()
		if err != nil {
			c.readFailed(err)
			return
		}
		if c.ending() {
			continue // read on until the client's close frame arrives
		}
		c.extendRead()
		if typ != websocket.TextMessage {
			c.post(invalid(codeInvalidFrame, msgBinary, nil))
			continue
		}
		c.post(parseRequest(data))
	}
}

// takePong consumes a Pong frame that lies whole at the front of the
// read buffer, between messages, and reports whether it did. The client
// answers every Ping with one, so this is most of what an idle
// connection reads: taking it here spares the reader a trip into
// gorilla's frame parser, which would leave it waiting for the next
// frame deep inside the parser, on a grown stack. Anything
// else, or a Pong that breaks the protocol, is left to gorilla.
func (c *conn) takePong() bool {
	n := c.br.Buffered()
	if n < pongHeader {
		return false
	}
	h, err := c.br.Peek(2)
	if err != nil || h[0] != finPong || h[1]&0x80 == 0 || h[1]&0x7f > 125 {
		return false // not a final, masked Pong with a control frame's payload
	}
	size := pongHeader + int(h[1]&0x7f)
	if n < size {
		return false
	}
	_, _ = c.br.Discard(size)
	c.extendRead()
	return true
}

// pongHeader is the size of a client's Pong frame without its payload:
// two bytes of header and the four of the masking key.
const pongHeader = 6

// extendRead moves the read deadline two intervals ahead: any frame from
// the client, a Pong above all, proves it alive. A connection that is
// ending keeps the deadline it has.
func (c *conn) extendRead() {
	if c.ctx.Err() != nil {
		return
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(2 * c.interval))
}

// readFailed ends the connection for the error that stopped the reader.
// When the peer is gone it also closes the TCP connection, which unblocks
// a writer stuck in a write.
func (c *conn) readFailed(err error) {
	var ce *websocket.CloseError
	switch {
	case errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure:
		c.end(discPeerClosed(ce.Code))
	case errors.Is(err, websocket.ErrReadLimit):
		d := discTooBig(c.h.cfg.ReadLimit)
		c.h.met.Refuse(d.label)
		c.stoppedEarly()
		c.end(d)
	case errors.Is(err, os.ErrDeadlineExceeded):
		c.end(discKeepalive)
		c.closeRaw()
	case isConnError(err):
		c.end(discGone)
		c.closeRaw()
	default:
		// gorilla's protocol errors: "websocket: bad MASK", ...
		d := discProtocol(strings.TrimPrefix(err.Error(), "websocket: "))
		c.h.met.Refuse(d.label)
		c.stoppedEarly()
		c.end(d)
	}
}

// stoppedEarly records that client input is left unread.
func (c *conn) stoppedEarly() {
	c.mu.Lock()
	c.unreadIn = true
	c.mu.Unlock()
}

// isConnError reports whether err means the connection itself broke or
// closed, rather than the peer breaking the protocol.
func isConnError(err error) bool {
	var ne net.Error
	var ce *websocket.CloseError
	return errors.As(err, &ne) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, net.ErrClosed) || (errors.As(err, &ce) && ce.Code == websocket.CloseAbnormalClosure)
}
