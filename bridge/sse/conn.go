package sse

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/heraldhq/herald/internal/rawconn"
)

// An HTTP/1.1 stream takes its connection over from net/http (see doc.go):
// the server would otherwise keep, for every idle stream, its connection's
// read and write buffers, the response's buffer, a background reader
// goroutine and the deep stack of the handler goroutine.

// errClientLeft is the cause with which a hijacked stream's context ends
// when its client closes the connection.
var errClientLeft = errors.New("sse: client closed the connection")

// finalChunk ends a chunked response.
var finalChunk = []byte("0\r\n\r\n")

// crlf ends a chunk.
var crlf = []byte("\r\n")

// hijacked is the state of a stream that serves its HTTP/1.1 connection
// itself.
type hijacked struct {
	conn    net.Conn
	head    []byte // the response's header block, written with the first chunk
	chunked bool   // the body is sent with chunked framing (HTTP/1.1 clients)
	// vectored: the connection writes net.Buffers in one system call.
	vectored bool
	failed   bool // a write failed: the connection is not to be written again
	// The parts of a write and the chunk size, kept so that writes do not
	// allocate.
	parts   [4][]byte
	vec     net.Buffers
	size    [18]byte
	watched chan struct{} // closed when the watcher returns; nil without one
}

// hijack takes the connection of an HTTP/1.x request over, when the
// response writer allows it, with the response's header block (w's
// headers, such as CORS ones set by middleware, and the event stream's)
// ready to go with the first write. It reports whether it did; on false
// the stream goes on through the ResponseWriter.
func (s *stream) hijack() bool {
	if s.r.ProtoMajor != 1 {
		return false
	}
	conn, brw, err := s.rc.Hijack()
	if err != nil {
		return false
	}
	// Whatever the client sent after its request (it has no business
	// sending anything) is dropped with net/http's buffers.
	_, _ = brw.Reader.Discard(brw.Reader.Buffered())

	hc := &hijacked{conn: conn, chunked: s.r.ProtoAtLeast(1, 1), vectored: rawconn.Vectored(conn)}
	hdr := s.w.Header()
	s.setHeaders(hdr)
	// The connection ends with the stream: it cannot go back to the
	// server for another request.
	hdr.Set("Connection", "close")
	if hc.chunked {
		hdr.Set("Transfer-Encoding", "chunked")
	}
	if hdr.Get("Date") == "" {
		hdr.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	var b bytes.Buffer
	b.WriteString("HTTP/1.1 200 OK\r\n")
	_ = hdr.Write(&b)
	b.WriteString("\r\n")
	hc.head = b.Bytes()

	s.hc = hc
	s.remote = s.r.RemoteAddr
	// Drop everything that refers to net/http's connection state, so that
	// its buffers go to the garbage collector.
	s.w, s.rc, s.r = nil, nil, nil
	return true
}

// watch notices a client that closes its connection and ends the stream's
// context then with errClientLeft, through cancel. It runs on a goroutine
// of its own which waits for the connection's input (see awaitEnd):
// anything the client sends is read and dropped, and the end of the
// stream or an error ends the watch. Closing the connection also ends it.
func (hc *hijacked) watch(cancel context.CancelCauseFunc) {
	hc.watched = make(chan struct{})
	go func() {
		defer close(hc.watched)
		if hc.awaitEnd() {
			cancel(errClientLeft)
		}
	}()
}

// writeConn writes p as one chunk of the body (preceded by the header
// block on the first write) to the hijacked connection, in one vectored
// write; p framed is a whole chunk already (see frame), written as it
// is. It allocates nothing: an idle stream's heartbeats leave no
// garbage behind.
func (s *stream) writeConn(p []byte, framed bool) error {
	hc := s.hc
	var err error
	switch {
	case framed:
		_, err = hc.conn.Write(p)
	case hc.vectored:
		hc.vec = append(hc.parts[:0], hc.head, hc.sizeLine(p), p)
		if hc.chunked {
			hc.vec = append(hc.vec, crlf)
		}
		_, err = rawconn.WriteBuffers(hc.conn, &hc.vec)
		hc.parts = [4][]byte{} // keep no frames
		hc.vec = nil
	default:
		// A connection without vectored writes would take each part in a
		// write of its own.
		size := hc.sizeLine(p)
		b := make([]byte, 0, len(hc.head)+len(size)+len(p)+len(crlf))
		b = append(append(append(b, hc.head...), size...), p...)
		if hc.chunked {
			b = append(b, crlf...)
		}
		_, err = hc.conn.Write(b)
	}
	hc.head = nil
	if err != nil {
		hc.failed = true
	}
	return err
}

// sizeLine returns the line that begins a chunk of p, or nil when the
// body is not chunked.
func (hc *hijacked) sizeLine(p []byte) []byte {
	if !hc.chunked {
		return nil
	}
	return append(strconv.AppendInt(hc.size[:0], int64(len(p)), 16), '\r', '\n')
}

// chunkRoom is the room a stream's buffer keeps for a chunk's size line:
// the hex digits of any length an int takes, and CRLF.
const chunkRoom = 16 + 2

// frame makes *b, a stream's buffer with room bytes kept at its front,
// into a whole chunk of its data: the size line right before the data,
// CRLF appended after it. It returns the chunk, which ends *b.
func (hc *hijacked) frame(b *[]byte, room int) []byte {
	size := hc.sizeLine((*b)[room:])
	*b = append(*b, crlf...)
	start := room - len(size)
	copy((*b)[start:], size)
	return (*b)[start:]
}

// closeConn ends a hijacked stream's response and closes its connection,
// then waits for the watcher. A response that was not cut short by a
// failed write or by its client gets its last chunk, so that the client
// sees it end properly.
func (s *stream) closeConn() {
	hc := s.hc
	if !hc.failed && !errors.Is(context.Cause(s.ctx), errClientLeft) {
		var last []byte
		if hc.chunked {
			last = finalChunk
		}
		if len(hc.head) > 0 || len(last) > 0 {
			_ = hc.conn.SetWriteDeadline(time.Now().Add(s.h.cfg.WriteTimeout))
			_, _ = hc.conn.Write(append(hc.head, last...))
		}
	}
	_ = hc.conn.Close()
	if hc.watched != nil {
		<-hc.watched
	}
}

// readUntilEnd is awaitEnd through the connection's Read, for connections
// without a descriptor to wait on: it reads and drops what the client
// sends until the end of its stream or an error, and reports whether that
// was the client's doing rather than Close's.
func (hc *hijacked) readUntilEnd() bool {
	var b [128]byte
	for {
		if _, err := hc.conn.Read(b[:]); err != nil {
			return !errors.Is(err, net.ErrClosed)
		}
	}
}
