package ws

import (
	"encoding/binary"
	"strconv"
	"time"
	"unicode/utf8"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
)

// wsEncoding keys a message's complete WebSocket frame in its encoding
// cache. Keys are compared by identity; this one is made once and never
// changes.
var wsEncoding = engine.NewEncodingKey("ws")

// First header bytes of the final, unfragmented frames the server sends
// (RFC 6455 §5.2: FIN bit and opcode). Server frames are not masked.
const (
	finText  = 0x80 | websocket.TextMessage
	finClose = 0x80 | websocket.CloseMessage
	finPing  = 0x80 | websocket.PingMessage
	finPong  = 0x80 | websocket.PongMessage
)

// maxHeaderLen is the longest header of an unmasked frame: two bytes and
// an eight-byte extended length.
const maxHeaderLen = 10

// headerLen is the header length of an unmasked frame with n payload
// bytes.
func headerLen(n int) int {
	switch {
	case n < 126:
		return 2
	case n <= 0xffff:
		return 4
	}
	return maxHeaderLen
}

// putHeader writes the header of a final frame of type first (finText,
// ...) with n payload bytes into b, ending right before b[end], and
// returns where it starts. The caller reserved maxHeaderLen bytes there.
func putHeader(b []byte, end int, first byte, n int) int {
	start := end - headerLen(n)
	h := b[start:end]
	h[0] = first
	switch len(h) {
	case 2:
		h[1] = byte(n)
	case 4:
		h[1] = 126
		binary.BigEndian.PutUint16(h[2:], uint16(n))
	default:
		h[1] = 127
		binary.BigEndian.PutUint64(h[2:], uint64(n))
	}
	return start
}

// envelopeOverhead estimates the bytes a message envelope adds to the
// payload, to size the frame buffer in one allocation.
const envelopeOverhead = 160

// messageFrame returns the complete text frame of the "message" frame of
// m: header and JSON envelope. It is encoded once per message and shared
// by every connection that sends it; callers must not modify it.
func messageFrame(m *engine.Message) []byte {
	if f, ok := m.Encoding(wsEncoding).([]byte); ok {
		return f
	}
	n := maxHeaderLen + envelopeOverhead + len(m.Topic) + len(m.ContentType) + len(m.Event) + len(m.Data)*6/5
	b := bridge.AppendEnvelope(make([]byte, maxHeaderLen, n), m, "message")
	start := putHeader(b, maxHeaderLen, finText, len(b)-maxHeaderLen)
	f := b[start:len(b):len(b)]
	return m.SetEncoding(wsEncoding, f).([]byte)
}

// batch gathers the frames of one write: cached message frames and the
// frames the writer encodes itself, in the order they are sent. Batches
// are pooled by the Handler, so an idle connection holds none.
type batch struct {
	vec  [][]byte // the frames, each one complete
	ctl  []byte   // backing store of the frames encoded here
	data bool     // vec holds a frame browser code sees (not only Ping/Pong/Close)
}

// Largest buffers a batch keeps when it returns to the pool.
const (
	keepVec = 256
	keepCtl = 16 << 10
)

// reset empties b for reuse, dropping references to messages and buffers
// that a burst made large.
func (b *batch) reset() {
	clear(b.vec)
	b.vec = b.vec[:0]
	if cap(b.vec) > keepVec {
		b.vec = nil
	}
	b.ctl = b.ctl[:0]
	if cap(b.ctl) > keepCtl {
		b.ctl = nil
	}
	b.data = false
}

// message adds the frame of m.
func (b *batch) message(m *engine.Message) {
	b.vec = append(b.vec, messageFrame(m))
	b.data = true
}

// begin reserves room for a frame header in ctl and returns the mark that
// end takes.
func (b *batch) begin() int {
	mark := len(b.ctl)
	b.ctl = append(b.ctl, make([]byte, maxHeaderLen)...)
	return mark
}

// end frames the bytes written to ctl since mark as one frame of type
// first and adds it.
func (b *batch) end(mark int, first byte) {
	payloadStart := mark + maxHeaderLen
	start := putHeader(b.ctl, payloadStart, first, len(b.ctl)-payloadStart)
	b.vec = append(b.vec, b.ctl[start:len(b.ctl):len(b.ctl)])
	if first == finText {
		b.data = true
	}
}

// control adds a Ping or Pong frame (first is finPing or finPong) with
// payload, which is at most 125 bytes.
func (b *batch) control(first byte, payload []byte) {
	mark := b.begin()
	b.ctl = append(b.ctl, payload...)
	b.end(mark, first)
}

// closeFrame adds a Close frame. Code 1005 means "no code" and sends an
// empty payload.
func (b *batch) closeFrame(code int, reason string) {
	mark := b.begin()
	if code != websocket.CloseNoStatusReceived {
		b.ctl = binary.BigEndian.AppendUint16(b.ctl, uint16(code))
		b.ctl = append(b.ctl, clip(reason)...)
	}
	b.end(mark, finClose)
}

// subscribed adds a "subscribed" frame.
func (b *batch) subscribed(topics []string, currentID string, interval time.Duration) {
	mark := b.begin()
	b.ctl = append(b.ctl, `{"type":"subscribed","topics":`...)
	b.ctl = appendStrings(b.ctl, topics)
	b.ctl = append(b.ctl, `,"current_id":`...)
	b.ctl = appendString(b.ctl, currentID)
	b.ctl = append(b.ctl, `,"heartbeat_interval":"`...)
	b.ctl = append(b.ctl, interval.String()...)
	b.ctl = append(b.ctl, `"}`...)
	b.end(mark, finText)
}

// gap adds a "gap" frame.
func (b *batch) gap(g *engine.Gap) {
	mark := b.begin()
	b.ctl = append(b.ctl, `{"type":"gap","topics":`...)
	b.ctl = appendStrings(b.ctl, g.Topics)
	b.ctl = append(b.ctl, `,"requested_id":"`...)
	b.ctl, _ = g.Requested.AppendText(b.ctl)
	b.ctl = append(b.ctl, `","first_available_id":"`...)
	b.ctl, _ = g.FirstAvailable.AppendText(b.ctl)
	b.ctl = append(b.ctl, `","reason":"`...)
	b.ctl = append(b.ctl, gapReason(g.Reason)...)
	b.ctl = append(b.ctl, `"}`...)
	b.end(mark, finText)
}

// gapReason is the proto enum name of r, as the JSON of every transport
// spells it.
func gapReason(r engine.GapReason) string {
	switch r {
	case engine.GapTruncated:
		return "REASON_TRUNCATED"
	case engine.GapEpochChanged:
		return "REASON_EPOCH_CHANGED"
	}
	return "REASON_UNSPECIFIED"
}

// heartbeat adds a "heartbeat" frame stamped now.
func (b *batch) heartbeat(now time.Time) {
	mark := b.begin()
	b.ctl = append(b.ctl, `{"type":"heartbeat","time":"`...)
	b.ctl = now.UTC().AppendFormat(b.ctl, time.RFC3339)
	b.ctl = append(b.ctl, `"}`...)
	b.end(mark, finText)
}

// pong adds a "pong" frame answering a ping whose id is given as JSON
// (nil for none).
func (b *batch) pong(id []byte) {
	mark := b.begin()
	b.ctl = append(b.ctl, `{"type":"pong"`...)
	b.ctl = appendID(b.ctl, id)
	b.ctl = append(b.ctl, '}')
	b.end(mark, finText)
}

// errorFrame adds an "error" frame about the client frame with id (JSON,
// nil for none).
func (b *batch) errorFrame(code, message string, id []byte) {
	b.refusalFrame(code, "", message, 0, id)
}

// refusalFrame adds an "error" frame about the client frame with id (JSON,
// nil for none) with the reason of a refusal, when not empty, and the
// delay after which the client may try again, in whole milliseconds
// rounded up, when positive.
func (b *batch) refusalFrame(code, reason, message string, retry time.Duration, id []byte) {
	mark := b.begin()
	b.ctl = append(b.ctl, `{"type":"error","code":`...)
	b.ctl = appendString(b.ctl, code)
	if reason != "" {
		b.ctl = append(b.ctl, `,"reason":`...)
		b.ctl = appendString(b.ctl, reason)
	}
	b.ctl = append(b.ctl, `,"message":`...)
	b.ctl = appendString(b.ctl, message)
	if retry > 0 {
		b.ctl = append(b.ctl, `,"retry_after_ms":`...)
		b.ctl = strconv.AppendInt(b.ctl, int64((retry+time.Millisecond-1)/time.Millisecond), 10)
	}
	b.ctl = appendID(b.ctl, id)
	b.ctl = append(b.ctl, '}')
	b.end(mark, finText)
}

// authenticated adds an "authenticated" frame answering the "auth" frame
// with id (JSON, nil for none): the connection's credential now expires
// at expires, or never when it is zero (no expires_at field then).
func (b *batch) authenticated(expires time.Time, id []byte) {
	mark := b.begin()
	b.ctl = append(b.ctl, `{"type":"authenticated"`...)
	if !expires.IsZero() {
		b.ctl = append(b.ctl, `,"expires_at":"`...)
		b.ctl = expires.UTC().AppendFormat(b.ctl, time.RFC3339)
		b.ctl = append(b.ctl, '"')
	}
	b.ctl = appendID(b.ctl, id)
	b.ctl = append(b.ctl, '}')
	b.end(mark, finText)
}

// appendID appends `,"id":<id>` unless id is nil.
func appendID(b, id []byte) []byte {
	if id == nil {
		return b
	}
	b = append(b, `,"id":`...)
	return append(b, id...)
}

// appendStrings appends ss as a JSON array of strings.
func appendStrings(b []byte, ss []string) []byte {
	b = append(b, '[')
	for i, s := range ss {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string: quotes, backslashes and control
// characters escaped, invalid UTF-8 replaced by U+FFFD, so that the frame
// is valid UTF-8 as text frames must be.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i++
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
