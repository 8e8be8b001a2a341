package loadgen

import (
	"bytes"
	"errors"
	"io"
	"strconv"
)

// sseMaxLine bounds one line of an event stream, and sseMaxData the data of
// one event, so that a misbehaving server cannot make the parser grow
// without limit. Herald's messages are at most 1 MiB, a little more as
// base64 or a JSON envelope.
const (
	sseMaxLine = 4 << 20
	sseMaxData = 4 << 20
)

// errSSETooLong is returned for a line or an event over the limits.
var errSSETooLong = errors.New("loadgen: event stream line or event too long")

// sseEvent is one dispatched Server-Sent Event. Data and the slices behind
// Type and ID are only valid until the next call to next.
type sseEvent struct {
	// Type is the event type; "message" when the event had no event field.
	Type []byte
	// Data is the event's data lines joined with LF, without a final LF.
	Data []byte
	// ID is the last event id: the id field of this event or of an earlier
	// one, as the format defines it.
	ID []byte
	// Retry is the last reconnection time the stream asked for, in
	// milliseconds; -1 when none.
	Retry int
}

// sseParser reads Server-Sent Events as the HTML standard's event stream
// format defines them: lines end with CRLF, LF or a lone CR; a line
// starting with ':' is a comment; "field: value" (one optional space after
// the colon) or a bare field name; data lines accumulate, joined by LF, and
// an empty line dispatches the event; an event without data is not
// dispatched; an id containing NUL is ignored; a leading byte-order mark is
// skipped. It is owned by one goroutine.
type sseParser struct {
	lines    lineReader
	eventTyp []byte
	data     []byte
	hasData  bool
	id       []byte
	retry    int
	comments int // comment lines seen, for heartbeat accounting
	started  bool
}

func newSSEParser(r io.Reader) *sseParser {
	return &sseParser{lines: lineReader{r: r, buf: make([]byte, 0, 4096)}, retry: -1}
}

var messageType = []byte("message")

// next returns the next dispatched event. At the end of the stream it
// returns io.EOF (an event not ended by an empty line is discarded, as the
// format requires) or the reader's error.
func (p *sseParser) next() (sseEvent, error) {
	for {
		line, err := p.lines.next()
		if err != nil {
			// A last line without its end cannot end an event: it is
			// dropped with the event being built.
			return sseEvent{}, err
		}
		if !p.started {
			p.started = true
			line = bytes.TrimPrefix(line, []byte("\uFEFF"))
		}
		if len(line) == 0 {
			if !p.hasData {
				p.eventTyp = p.eventTyp[:0]
				continue
			}
			ev := sseEvent{Type: p.eventTyp, Data: p.data, ID: p.id, Retry: p.retry}
			if len(ev.Type) == 0 {
				ev.Type = messageType
			}
			// The caller may keep using the event until the next call;
			// reset lazily by truncating (the backing arrays are reused).
			p.hasData = false
			p.data = p.data[:0]
			p.eventTyp = p.eventTyp[:0]
			return ev, nil
		}
		if line[0] == ':' {
			p.comments++
			continue
		}
		field, value := line, []byte(nil)
		if i := bytes.IndexByte(line, ':'); i >= 0 {
			field, value = line[:i], line[i+1:]
			if len(value) > 0 && value[0] == ' ' {
				value = value[1:]
			}
		}
		if err := p.field(field, value); err != nil {
			return sseEvent{}, err
		}
	}
}

// field applies one field line to the event being built.
func (p *sseParser) field(field, value []byte) error {
	switch string(field) {
	case "data":
		if p.hasData {
			p.data = append(p.data, '\n')
		}
		p.data = append(p.data, value...)
		p.hasData = true
		if len(p.data) > sseMaxData {
			return errSSETooLong
		}
	case "event":
		p.eventTyp = append(p.eventTyp[:0], value...)
	case "id":
		if bytes.IndexByte(value, 0) < 0 {
			p.id = append(p.id[:0], value...)
		}
	case "retry":
		if n, err := strconv.Atoi(string(value)); err == nil && n >= 0 && isDigits(value) {
			p.retry = n
		}
	}
	// Other fields are ignored.
	return nil
}

func isDigits(b []byte) bool {
	for _, c := range b {
		if c < '0' || c > '9' {
			return false
		}
	}
	return len(b) > 0
}

// lineReader splits a stream into lines ended by CRLF, LF or a lone CR,
// with its own buffer so that a CR at the end of one read and the LF at the
// start of the next are one line end.
type lineReader struct {
	r      io.Reader
	buf    []byte // unread bytes are buf[start:]
	start  int
	skipLF bool // the last line ended with CR: a following LF belongs to it
	err    error
}

// next returns the next line without its end. The line is valid until the
// next call. When the stream ends, it returns what is left (possibly empty)
// with io.EOF, or the reader's error.
func (l *lineReader) next() ([]byte, error) {
	scanned := 0 // bytes of buf[start:] known to hold no line end
	for {
		if l.skipLF && l.start < len(l.buf) {
			if l.buf[l.start] == '\n' {
				l.start++
			}
			l.skipLF = false
		}
		rest := l.buf[l.start:]
		if i := bytes.IndexAny(rest[scanned:], "\r\n"); i >= 0 {
			i += scanned
			line := rest[:i]
			l.start += i + 1
			l.skipLF = rest[i] == '\r'
			return line, nil
		}
		scanned = len(rest)
		if l.err != nil {
			l.start = len(l.buf)
			return rest, l.err
		}
		if len(rest) > sseMaxLine {
			return nil, errSSETooLong
		}
		l.fill()
	}
}

// fill reads more of the stream into the buffer, moving unread bytes to its
// front or growing it first when it is full.
func (l *lineReader) fill() {
	if l.start > 0 {
		n := copy(l.buf, l.buf[l.start:])
		l.buf = l.buf[:n]
		l.start = 0
	}
	if len(l.buf) == cap(l.buf) {
		l.buf = append(l.buf, make([]byte, cap(l.buf))...)[:len(l.buf)]
	}
	n, err := l.r.Read(l.buf[len(l.buf):cap(l.buf)])
	l.buf = l.buf[:len(l.buf)+n]
	if err != nil {
		l.err = err
	}
}
