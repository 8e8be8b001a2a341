package ws

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"
)

// refusedBody fails unless the handshake failed with a response, and
// returns the response's body; status, the one wanted, is for the failure
// message.
func refusedBody(t *testing.T, resp *http.Response, err error, status int) []byte {
	t.Helper()
	if err == nil {
		t.Fatalf("handshake succeeded, want %d", status)
	}
	if resp == nil {
		t.Fatalf("handshake failed without a response: %v", err)
	}
	return readBody(resp)
}

// wantRefused fails unless the handshake was refused with status and the
// JSON error body with code and a message containing msg.
func wantRefused(t *testing.T, resp *http.Response, err error, status, code int, msg string) {
	t.Helper()
	body := refusedBody(t, resp, err, status)
	if resp.StatusCode != status {
		t.Fatalf("status %d (%s), want %d", resp.StatusCode, body, status)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q, want application/json", ct)
	}
	var eb struct {
		Code    *int            `json:"code"`
		Message string          `json:"message"`
		Details json.RawMessage `json:"details"`
	}
	if err := json.Unmarshal(body, &eb); err != nil {
		t.Fatalf("body %s: %v", body, err)
	}
	if eb.Code == nil || *eb.Code != code || !strings.Contains(eb.Message, msg) || string(eb.Details) != "[]" {
		t.Fatalf("body %s, want code %d, details [] and a message containing %q", body, code, msg)
	}
}

func TestSubscribeViaQuery(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "?topic=news&topic=sport.>&topic=news")
	sub := expect(t, c, "subscribed")
	if strings.Join(sub.Topics, ",") != "news,sport.>" {
		t.Errorf("topics %q, want [news sport.>]", sub.Topics)
	}
	if sub.CurrentID == "" || sub.HeartbeatInterval != "15s" {
		t.Errorf("subscribed %s: want a current_id and heartbeat_interval 15s", sub.raw)
	}
	if got := e.subscriptions(t); got != 1 {
		t.Errorf("subscriptions gauge %v, want 1", got)
	}
	e.publish(t, "other", "not for us")
	res := e.publish(t, "sport.ski", "hello")
	m := expect(t, c, "message")
	if m.msgID() != res.ID.String() || m.Topic != "sport.ski" || *m.Data != "hello" {
		t.Fatalf("message %s, want sport.ski %s hello", m.raw, res.ID)
	}
}

func TestSubscribeViaFrame(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	c := e.dial(t, "")
	col := collect(t, c)
	e.publish(t, "a", "before any subscription")
	send(t, c, `{"type":"ping","id":"p"}`)
	waitFor(t, testTimeout, "pong", func() bool { return col.count("pong") == 1 })
	if n := len(col.messages()); n != 0 || col.count("subscribed") != 0 {
		t.Fatalf("a connection without topics got %d messages and a subscribed frame", n)
	}
	if got := e.subscriptions(t); got != 0 {
		t.Errorf("subscriptions gauge %v, want 0", got)
	}

	send(t, c, `{"type":"subscribe","topics":["a"],"id":"s1"}`)
	waitFor(t, testTimeout, "subscribed", func() bool { return col.count("subscribed") == 1 })
	res := e.publish(t, "a", "x")
	waitFor(t, testTimeout, "message", func() bool { return len(col.messages()) == 1 })
	if got := col.messages()[0].msgID(); got != res.ID.String() {
		t.Fatalf("message id %s, want %s", got, res.ID)
	}
	if got := e.subscriptions(t); got != 1 {
		t.Errorf("subscriptions gauge %v, want 1", got)
	}
}

func TestOrigin(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		allowed []string
		origin  string // "self" stands for the server's own origin
		ok      bool
	}{
		{"no origin header", nil, "", true},
		{"same origin", nil, "self", true},
		{"cross origin by default", nil, "https://evil.example", false},
		{"listed", []string{"https://app.example.com"}, "https://app.example.com", true},
		{"listed, other scheme", []string{"https://app.example.com"}, "http://app.example.com", false},
		{"wildcard", []string{"https://*.example.com"}, "https://eu.app.example.com", true},
		{"wildcard, other domain", []string{"https://*.example.com"}, "https://example.org", false},
		{"same origin with a list", []string{"https://app.example.com"}, "self", true},
		{"any", []string{"*"}, "https://anything.example", true},
		{"null origin", nil, "null", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envConfig{ws: Config{AllowedOrigins: tc.allowed}})
			h := http.Header{}
			switch tc.origin {
			case "":
			case "self":
				h.Set("Origin", e.srv.URL)
			default:
				h.Set("Origin", tc.origin)
			}
			c, resp, err := e.tryDial(t, "?topic=a", dialOpts{header: h})
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				expect(t, c, "subscribed")
				return
			}
			wantRefused(t, resp, err, 403, 7, "origin")
			if got := e.refused(t, "forbidden_origin"); got != 1 {
				t.Errorf("refusals %v, want 1", got)
			}
		})
	}
}

func TestBadHandshake(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	for _, tc := range []struct {
		query string
		msg   string
	}{
		{"?topic=a..b", "topics[0]"},
		{"?topic=a&topic=b*", "topics[1]"},
		{"?topic=a&last_event_id=nope", "last_event_id"},
		{"?last_event_id=nope", "last_event_id"},
		{"?topic=a&heartbeat=soon", "heartbeat"},
	} {
		_, resp, err := e.tryDial(t, tc.query)
		wantRefused(t, resp, err, 400, 3, tc.msg)
	}
	if got := e.refused(t, "invalid_argument"); got != 5 {
		t.Errorf("invalid_argument refusals %v, want 5", got)
	}

	// A plain GET, not a WebSocket handshake.
	resp, err := http.Get(e.srv.URL + "/v1/ws?topic=a")
	if err != nil {
		t.Fatal(err)
	}
	wantRefused(t, resp, websocket.ErrBadHandshake, 400, 3, "WebSocket handshake")
	if got := e.connections(t); got != 0 {
		t.Errorf("connections gauge %v after refusals, want 0", got)
	}
}

func TestHeartbeatParameterIsClamped(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envConfig{})
	for query, want := range map[string]string{
		"?topic=a&heartbeat=1ms": "1s",
		"?topic=a&heartbeat=30s": "30s",
		"?topic=a&heartbeat=1h":  "5m0s",
	} {
		c := e.dial(t, query)
		if got := expect(t, c, "subscribed").HeartbeatInterval; got != want {
			t.Errorf("%s: heartbeat_interval %q, want %q", query, got, want)
		}
	}
}
