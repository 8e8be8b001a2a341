package sse

import (
	"encoding/base64"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
)

// Keys of a message's two SSE encodings in its encoding cache: the raw
// payload as data, and the JSON envelope as data (envelope=1). Each holds
// the complete frame as a []byte, shared by every stream; it must never be
// modified.
var (
	rawEncoding      = engine.NewEncodingKey("sse")
	envelopeEncoding = engine.NewEncodingKey("sse-envelope")
)

// Names of the control events. The herald. prefix is reserved for them.
const (
	eventSubscribed = "herald.subscribed"
	eventGap        = "herald.gap"
	eventHeartbeat  = "herald.heartbeat"
	eventError      = "herald.error"
	reservedPrefix  = "herald."
)

// maxEventName is the longest event name a message frame carries; the
// publish API allows no longer.
const maxEventName = 255

// messageFrame returns the frame of m, from its encoding cache or encoded
// now and cached for every other stream.
func messageFrame(m *engine.Message, envelope bool) []byte {
	key := rawEncoding
	if envelope {
		key = envelopeEncoding
	}
	if b, ok := m.Encoding(key).([]byte); ok {
		return b
	}
	b := appendMessage(nil, m, envelope)
	if cached, ok := m.SetEncoding(key, b).([]byte); ok {
		return cached
	}
	return b
}

// appendMessage appends the frame of m: its id, its event name when it is
// one a frame can safely carry, and its data, one data: line per line of
// the payload, or the JSON envelope. An envelope frame has no event: field:
// the envelope carries the name, and every message then reaches an
// EventSource's "message" listeners, which need not know names in advance.
func appendMessage(b []byte, m *engine.Message, envelope bool) []byte {
	b = append(b, "id: "...)
	b, _ = m.ID.AppendText(b) // digits, letters and a dash: never a line break
	b = append(b, '\n')
	if !envelope && safeEventName(m.Event) {
		b = append(b, "event: "...)
		b = append(b, m.Event...)
		b = append(b, '\n')
	}
	switch {
	case envelope:
		b = append(b, "data: "...)
		b = bridge.AppendEnvelope(b, m, "")
		b = append(b, '\n')
	case utf8.Valid(m.Data):
		b = appendData(b, m.Data)
	default:
		b = append(b, "data: "...)
		b = base64.StdEncoding.AppendEncode(b, m.Data)
		b = append(b, '\n')
	}
	return append(b, '\n')
}

// appendData appends payload as data: lines: a line break (LF, CRLF or a
// lone CR) ends a line, as the SSE format defines them, and a browser joins
// the lines with LF. A payload that ends with a line break, or an empty
// one, ends with an empty data: line, so that the event is dispatched with
// exactly that data.
func appendData(b, payload []byte) []byte {
	start := 0
	for i := 0; i < len(payload); i++ {
		c := payload[i]
		if c != '\n' && c != '\r' {
			continue
		}
		b = append(b, "data: "...)
		b = append(b, payload[start:i]...)
		b = append(b, '\n')
		if c == '\r' && i+1 < len(payload) && payload[i+1] == '\n' {
			i++
		}
		start = i + 1
	}
	b = append(b, "data: "...)
	b = append(b, payload[start:]...)
	return append(b, '\n')
}

// safeEventName reports whether a message's event name can be its frame's
// event: field. Publishing admits only A-Z a-z 0-9 _ - . : (and no line
// breaks, which would inject fields); a name from elsewhere that breaks
// these rules, or that takes a reserved herald. control name, is left out
// of the frame, which is then an ordinary message event. The envelope
// still carries it.
func safeEventName(ev string) bool {
	if ev == "" || len(ev) > maxEventName || strings.HasPrefix(ev, reservedPrefix) {
		return false
	}
	for i := 0; i < len(ev); i++ {
		switch c := ev[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '_', c == '-', c == '.', c == ':':
		default:
			return false
		}
	}
	return true
}

// appendRetry appends a retry: field, in milliseconds, as a frame of its
// own.
func appendRetry(b []byte, d time.Duration) []byte {
	b = append(b, "retry: "...)
	b = strconv.AppendInt(b, d.Milliseconds(), 10)
	return append(b, "\n\n"...)
}

// subscribedData is the data of the herald.subscribed event.
type subscribedData struct {
	Topics            []string `json:"topics"`
	CurrentID         string   `json:"current_id"`
	HeartbeatInterval string   `json:"heartbeat_interval"`
}

// appendSubscribed appends the herald.subscribed event. withID gives it the
// current id as its id: field, which only a stream that does not resume
// may do.
func appendSubscribed(b []byte, s bridge.Subscribed, heartbeat time.Duration, withID bool) []byte {
	if withID && s.CurrentID != "" && singleLine(s.CurrentID) {
		b = append(b, "id: "...)
		b = append(b, s.CurrentID...)
		b = append(b, '\n')
	}
	topics := s.Topics
	if topics == nil {
		topics = []string{}
	}
	return appendControl(b, eventSubscribed, subscribedData{
		Topics:            topics,
		CurrentID:         s.CurrentID,
		HeartbeatInterval: heartbeat.String(),
	})
}

// gapData is the data of the herald.gap event.
type gapData struct {
	Topics           []string `json:"topics"`
	RequestedID      string   `json:"requested_id"`
	FirstAvailableID string   `json:"first_available_id"`
	Reason           string   `json:"reason"`
}

// appendGap appends a herald.gap event. It has no id: it moves no
// position.
func appendGap(b []byte, g *engine.Gap) []byte {
	reason := "REASON_TRUNCATED"
	if g.Reason == engine.GapEpochChanged {
		reason = "REASON_EPOCH_CHANGED"
	}
	topics := g.Topics
	if topics == nil {
		topics = []string{}
	}
	return appendControl(b, eventGap, gapData{
		Topics:           topics,
		RequestedID:      g.Requested.String(),
		FirstAvailableID: g.FirstAvailable.String(),
		Reason:           reason,
	})
}

// appendHeartbeat appends the heartbeat frame: a comment, which proxies and
// plain clients see, that is also a herald.heartbeat event, which browser
// code sees (EventSource hides comments).
func appendHeartbeat(b []byte, now time.Time) []byte {
	b = append(b, ": heartbeat\nevent: "+eventHeartbeat+"\ndata: "...)
	b = now.UTC().AppendFormat(b, time.RFC3339)
	return append(b, "\n\n"...)
}

// errorData is the data of the herald.error event.
type errorData struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// appendError appends the herald.error event that precedes the end of a
// stream, with a retry: field first when retry is positive.
func appendError(b []byte, r endReason, retry time.Duration) []byte {
	if retry > 0 {
		b = append(b, "retry: "...)
		b = strconv.AppendInt(b, retry.Milliseconds(), 10)
		b = append(b, '\n')
	}
	return appendControl(b, eventError, errorData{Code: r.code, Message: r.message})
}

// appendControl appends a control event whose data is v as one line of
// JSON (which escapes every line break).
func appendControl(b []byte, event string, v any) []byte {
	b = append(b, "event: "...)
	b = append(b, event...)
	b = append(b, "\ndata: "...)
	data, err := json.Marshal(v)
	if err != nil {
		// The control payloads are strings and string slices, which
		// always encode.
		data = []byte("{}")
	}
	b = append(b, data...)
	return append(b, "\n\n"...)
}

// singleLine reports whether s holds no line break.
func singleLine(s string) bool { return !strings.ContainsAny(s, "\r\n") }
