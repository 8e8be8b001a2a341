package bridge

import (
	"bytes"
	"encoding/json"
	"time"
	"unicode/utf8"

	"github.com/heraldhq/herald/engine"
)

// envelope is the JSON form of a message on the browser transports (see
// docs/browser-protocol.md): data as a string when the payload is UTF-8,
// data_base64 otherwise.
type envelope struct {
	Type        string  `json:"type,omitempty"`
	Topic       string  `json:"topic"`
	ID          string  `json:"id"`
	Data        *string `json:"data,omitempty"`
	DataBase64  []byte  `json:"data_base64,omitempty"`
	ContentType string  `json:"content_type,omitempty"`
	Event       string  `json:"event,omitempty"`
	PublishTime string  `json:"publish_time"`
}

// AppendEnvelope appends the JSON envelope of m to b, with a "type" field
// first when typ is not empty (the WebSocket protocol's "message" frame).
// The result is a single line. It is meant to be computed once per message
// and wire format and cached on the message (engine.Message.SetEncoding).
func AppendEnvelope(b []byte, m *engine.Message, typ string) []byte {
	env := envelope{
		Type:        typ,
		Topic:       m.Topic,
		ID:          m.ID.String(),
		ContentType: m.ContentType,
		Event:       m.Event,
		PublishTime: m.Time.UTC().Format(time.RFC3339Nano),
	}
	if utf8.Valid(m.Data) {
		s := string(m.Data)
		env.Data = &s
	} else {
		env.DataBase64 = m.Data
	}
	buf := bytes.NewBuffer(b)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	// An envelope of strings and bytes always encodes.
	_ = enc.Encode(&env)
	out := buf.Bytes()
	return out[:len(out)-1] // Encode ends with a newline
}
