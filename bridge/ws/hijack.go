package ws

import (
	"bufio"
	"net"
	"net/http"
	"time"
)

// hijackWriter is the http.ResponseWriter handed to the gorilla Upgrader.
// When the Upgrader hijacks the connection it gets a readConn over it,
// while the raw connection stays with the Handler for the writer.
type hijackWriter struct {
	http.ResponseWriter
	raw net.Conn      // the hijacked connection, written by the writer only
	rc  *readConn     // what gorilla's Conn is built on
	br  *bufio.Reader // gorilla's read buffer
}

// Hijack hijacks the underlying connection (through any middleware that
// supports http.ResponseController) and hands out a readConn over it.
func (w *hijackWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	raw, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	w.raw = raw
	w.rc = &readConn{Conn: raw}
	if brw.Reader.Buffered() > 0 {
		// The client sent frames before the handshake's answer: gorilla
		// refuses the connection.
		return w.rc, brw, nil
	}
	// A small read buffer of the Handler's own, which gorilla adopts (the
	// Upgrader's ReadBufferSize is zero), so that the reader can tell when
	// it holds nothing.
	w.br = bufio.NewReaderSize(w.rc, readBufferSize)
	return w.rc, bufio.NewReadWriter(w.br, brw.Writer), nil
}

// Unwrap returns the wrapped ResponseWriter, for http.ResponseController.
func (w *hijackWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// readConn is the net.Conn under gorilla's Conn, which the Handler uses
// for reading only. Until the handshake is done it passes everything
// through. After it, writes and write deadlines are dropped: gorilla
// itself writes a Close frame from the reading goroutine when a frame is
// too large or breaks the protocol, and that write would race the
// connection's one writer. The reader reports those errors to the writer
// instead, which sends the Close frame with a reason.
type readConn struct {
	net.Conn
	// upgraded is set once, by the goroutine that upgraded, before the
	// reader starts.
	upgraded bool
}

// Write writes p during the handshake and drops it afterwards.
func (c *readConn) Write(p []byte) (int, error) {
	if c.upgraded {
		return len(p), nil
	}
	return c.Conn.Write(p)
}

// SetWriteDeadline sets the write deadline during the handshake only.
func (c *readConn) SetWriteDeadline(t time.Time) error {
	if c.upgraded {
		return nil
	}
	return c.Conn.SetWriteDeadline(t)
}

// SetDeadline sets both deadlines during the handshake, and only the read
// deadline afterwards.
func (c *readConn) SetDeadline(t time.Time) error {
	if c.upgraded {
		return c.Conn.SetReadDeadline(t)
	}
	return c.Conn.SetDeadline(t)
}
