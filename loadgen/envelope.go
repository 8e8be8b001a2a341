package loadgen

import (
	"bytes"
	"encoding/json"
)

// frameFields is the part of a JSON frame (a WebSocket frame, or the SSE
// envelope) that subscribers read.
type frameFields struct {
	Type string  `json:"type"`
	Data *string `json:"data"`
}

// decodeFrame returns the "type" and "data" string fields of a JSON object
// (empty when absent) and whether "data" was present. Herald writes these
// objects compactly, with no nested object holding the same keys, so the
// fields are found by scanning for `"key":"` — a sequence that cannot occur
// inside a JSON string, where every quote is escaped. A value holding an
// escape, or an object that is not compact, is decoded in full instead.
// ok is false for a frame that is not a JSON object.
func decodeFrame(frame []byte) (typ, data []byte, hasData, ok bool) {
	typ, _, slow1 := scanStringField(frame, `"type":"`)
	data, hasData, slow2 := scanStringField(frame, `"data":"`)
	if !slow1 && !slow2 && len(frame) > 0 && frame[0] == '{' {
		return typ, data, hasData, true
	}
	var f frameFields
	if err := json.Unmarshal(frame, &f); err != nil {
		return nil, nil, false, false
	}
	if f.Data != nil {
		data, hasData = []byte(*f.Data), true
	}
	return []byte(f.Type), data, hasData, true
}

// scanStringField finds the string value after pattern (`"key":"`) in a
// compact JSON object. slow is true when it cannot be read by scanning:
// the value holds an escape or does not end, or the key may be present in a
// form the pattern misses (with spaces).
func scanStringField(frame []byte, pattern string) (value []byte, found, slow bool) {
	i := bytes.Index(frame, []byte(pattern))
	if i < 0 {
		key := pattern[:len(pattern)-2] // `"key":`
		key = key[:len(key)-1]          // `"key"`
		return nil, false, bytes.Contains(frame, []byte(key))
	}
	rest := frame[i+len(pattern):]
	end := bytes.IndexByte(rest, '"')
	if end < 0 || bytes.IndexByte(rest[:end], '\\') >= 0 {
		return nil, false, true
	}
	return rest[:end], true, false
}
