package ws

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
)

// requestKind says what a client frame asks the writer to do.
type requestKind uint8

const (
	// reqSubscribe adds topics (a "subscribe" frame).
	reqSubscribe requestKind = iota + 1
	// reqUnsubscribe removes topics (an "unsubscribe" frame).
	reqUnsubscribe
	// reqPing asks for a "pong" frame (a "ping" frame).
	reqPing
	// reqAuth replaces the connection's credential (an "auth" frame).
	reqAuth
	// reqControlPong asks for a Pong control frame (a WebSocket Ping).
	reqControlPong
	// reqInvalid is a malformed frame, answered with an "error" frame.
	reqInvalid
)

// Codes of "error" frames.
const (
	codeInvalidFrame    = "invalid_frame"    // not JSON, binary, unknown type, wrong field type
	codeInvalidArgument = "invalid_argument" // a bad topic, id or missing topics
)

// request is a client frame, parsed by the reader for the writer.
type request struct {
	kind requestKind
	// id is the frame's id as JSON (a string or a number), echoed in the
	// answer; nil when the frame had none.
	id          []byte
	topics      []string
	lastEventID string
	// token is the credential of an "auth" frame. It is never logged.
	token string
	// code and message describe a reqInvalid frame.
	code, message string
	// payload is the application data of a WebSocket Ping.
	payload []byte
}

// invalid returns a reqInvalid request.
func invalid(code, message string, id []byte) *request {
	return &request{kind: reqInvalid, code: code, message: message, id: id}
}

// clientFrame is the JSON shape of every client frame.
type clientFrame struct {
	Type        string          `json:"type"`
	ID          json.RawMessage `json:"id"`
	Topics      []string        `json:"topics"`
	LastEventID string          `json:"last_event_id"`
	Token       string          `json:"token"`
}

// parseRequest parses a client text frame. It never fails: a malformed
// frame becomes a reqInvalid request saying what is wrong.
func parseRequest(data []byte) *request {
	var f clientFrame
	err := json.Unmarshal(data, &f)
	var syntax *json.SyntaxError
	if errors.As(err, &syntax) || (err != nil && !isTypeError(err)) {
		return invalid(codeInvalidFrame, "frame is not valid JSON", nil)
	}
	id, idErr := frameID(f.ID)
	if idErr != "" {
		return invalid(codeInvalidFrame, idErr, nil)
	}
	if err != nil {
		return invalid(codeInvalidFrame, typeErrorMessage(err), id)
	}
	r := &request{id: id, topics: f.Topics, lastEventID: f.LastEventID}
	switch f.Type {
	case "subscribe":
		r.kind = reqSubscribe
	case "unsubscribe":
		r.kind = reqUnsubscribe
		if f.LastEventID != "" {
			return invalid(codeInvalidFrame, `"last_event_id" is not allowed in an unsubscribe frame`, id)
		}
	case "ping":
		r.kind = reqPing
		return r
	case "auth":
		if f.Token == "" {
			return invalid(codeInvalidArgument, `token: an "auth" frame needs a token`, id)
		}
		r.kind = reqAuth
		r.token = f.Token
		r.topics, r.lastEventID = nil, ""
		return r
	case "":
		return invalid(codeInvalidFrame, `frame has no "type"`, id)
	default:
		return invalid(codeInvalidFrame,
			fmt.Sprintf(`unknown frame type %s; want subscribe, unsubscribe, auth or ping`, quote(f.Type)), id)
	}
	if len(f.Topics) == 0 {
		return invalid(codeInvalidArgument, "topics: at least one topic is required", id)
	}
	return r
}

// isTypeError reports whether err is a JSON value of the wrong type,
// after which json.Unmarshal still decoded the other fields.
func isTypeError(err error) bool {
	var te *json.UnmarshalTypeError
	return errors.As(err, &te)
}

// typeErrorMessage says which field of a frame has the wrong type.
func typeErrorMessage(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) || te.Field == "" {
		return "frame must be a JSON object"
	}
	field, _, _ := strings.Cut(te.Field, ".")
	want := "a string"
	if field == "topics" {
		want = "an array of strings"
	}
	return fmt.Sprintf("field %q must be %s", field, want)
}

// frameID checks a frame's id and returns it as the JSON to echo: a
// number as it came, a string re-encoded (so that invalid UTF-8 cannot
// reach a text frame), nil when absent or null. The string is an error
// message when the id is neither a string nor a number.
func frameID(raw json.RawMessage) ([]byte, string) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, ""
	}
	switch c := raw[0]; {
	case c == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, `"id" must be a string or a number`
		}
		return appendString(nil, s), ""
	case c == '-' || (c >= '0' && c <= '9'):
		return bytes.Clone(raw), ""
	}
	return nil, `"id" must be a string or a number`
}

// quote quotes a client-supplied string for a message, cut short so that
// a huge value cannot bloat the answer.
func quote(s string) string {
	const limit = 64
	if len(s) > limit {
		return fmt.Sprintf("%q…", s[:limit])
	}
	return fmt.Sprintf("%q", s)
}
