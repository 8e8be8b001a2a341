package loadgen

import "testing"

func TestDecodeFrame(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, frame, typ, data string
		hasData, ok            bool
	}{
		{"websocket message", `{"type":"message","topic":"bench","id":"x-1","data":"hbabc","publish_time":"2026-11-21T14:19:46Z"}`, "message", "hbabc", true, true},
		{"sse envelope", `{"topic":"bench","id":"x-1","data":"payload","content_type":"text/plain"}`, "", "payload", true, true},
		{"heartbeat", `{"type":"heartbeat","time":"2026-11-21T14:20:01Z"}`, "heartbeat", "", false, true},
		{"escaped data goes the slow way", `{"type":"message","data":"a\"b\\c\u00e9"}`, "message", "a\"b\\cé", true, true},
		{"spaces go the slow way", `{ "type" : "message", "data" : "x" }`, "message", "x", true, true},
		{"a topic called data", `{"type":"subscribed","topics":["data"],"current_id":"e-0"}`, "subscribed", "", false, true},
		{"empty data", `{"type":"message","data":""}`, "message", "", true, true},
		{"not JSON", `hello`, "", "", false, false},
		{"truncated", `{"type":"message","data":"abc`, "", "", false, false},
		{"an array", `["type","data"]`, "", "", false, false},
	} {
		typ, data, hasData, ok := decodeFrame([]byte(tc.frame))
		if string(typ) != tc.typ || string(data) != tc.data || hasData != tc.hasData || ok != tc.ok {
			t.Errorf("%s: decodeFrame(%s) = %q %q %v %v; want %q %q %v %v", tc.name, tc.frame,
				typ, data, hasData, ok, tc.typ, tc.data, tc.hasData, tc.ok)
		}
	}
}

func TestErrorCode(t *testing.T) {
	t.Parallel()
	if got := errorCode([]byte(`{"code":"slow_consumer","message":"too slow"}`)); got != "slow_consumer" {
		t.Errorf("errorCode = %q", got)
	}
	if got := errorCode([]byte(`plain text`)); got != "plain text" {
		t.Errorf("errorCode without code = %q", got)
	}
}
