package sse

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	"github.com/heraldhq/herald/gateway"
	"github.com/heraldhq/herald/metrics"
)

func TestHeadersAndRetry(t *testing.T) {
	t.Parallel()
	for _, p := range []proto{http1, h2c, h2tls} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{cfg: Config{Retry: 1500 * time.Millisecond}, proto: p})
			s := e.open(t, "/v1/sse?topic=news", nil)
			h := s.resp.Header
			if h.Get("Content-Type") != "text/event-stream" || h.Get("Cache-Control") != "no-cache" ||
				h.Get("X-Accel-Buffering") != "no" {
				t.Fatalf("headers %v", h)
			}
			wantMajor := 2
			if p == http1 {
				wantMajor = 1
			}
			if s.resp.ProtoMajor != wantMajor {
				t.Fatalf("served over %s, want HTTP/%d", s.resp.Proto, wantMajor)
			}
			// Over HTTP/1.1 the stream owns its connection, which ends
			// with it; HTTP/2 has no Connection header.
			if got := h.Get("Connection"); got != "" || s.resp.Close != (p == http1) {
				t.Fatalf("Connection: %q, close %v over %s", got, s.resp.Close, s.resp.Proto)
			}
			if p == http1 && (len(s.resp.TransferEncoding) != 1 || s.resp.TransferEncoding[0] != "chunked") {
				t.Fatalf("Transfer-Encoding %v over %s, want chunked", s.resp.TransferEncoding, s.resp.Proto)
			}
			if f := s.next(t); f.retry != "1500" || f.hasData || f.event != "" {
				t.Fatalf("first frame %+v, want retry: 1500 alone", f)
			}
			var d subscribedData
			if f := s.next(t); f.event != eventSubscribed || json.Unmarshal([]byte(f.data), &d) != nil {
				t.Fatalf("second frame %+v, want %s", f, eventSubscribed)
			}
			id := e.publish(t, "news", "hello")
			s.message(t, id, "hello")
			if d.HeartbeatInterval != "15s" {
				t.Fatalf("heartbeat_interval %q, want the default 15s", d.HeartbeatInterval)
			}
		})
	}
}

func TestSubscribedEventCarriesAnIDOnlyWhenNotResuming(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	first := e.publish(t, "a", "1")

	s := e.open(t, "/v1/sse?topic=a&topic=b.>&topic=a", nil)
	f, d := s.subscribed(t)
	if !f.hasID || f.id != first.String() || d.CurrentID != first.String() {
		t.Fatalf("fresh subscribed %+v %+v, want id and current_id %s", f, d, first)
	}
	if len(d.Topics) != 2 || d.Topics[0] != "a" || d.Topics[1] != "b.>" {
		t.Fatalf("topics %v, want [a b.>]", d.Topics)
	}

	// Resuming: no id, which would move the browser's position past the
	// replay.
	second := e.publish(t, "a", "2")
	s = e.open(t, "/v1/sse?topic=a", http.Header{"Last-Event-Id": {first.String()}})
	f, d = s.subscribed(t)
	if f.hasID || d.CurrentID != second.String() {
		t.Fatalf("resumed subscribed %+v %+v, want no id and current_id %s", f, d, second)
	}
	s.message(t, second, "2")
}

func TestMessageFraming(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	raw := e.open(t, "/v1/sse?topic=t", nil)
	raw.subscribed(t)
	env := e.open(t, "/v1/sse?topic=t&envelope=1", nil)
	env.subscribed(t)

	for _, tt := range []struct {
		name, payload, want string
	}{
		{"one line", "hello", "hello"},
		{"LF", "a\nb", "a\nb"},
		{"CRLF", "a\r\nb", "a\nb"},
		{"CR", "a\rb", "a\nb"},
		{"mixed", "1\r\n2\n\r3\r\r4", "1\n2\n\n3\n\n4"},
		{"trailing LF", "end\n", "end\n"},
		{"only CRLF", "\r\n", "\n"},
		{"empty", "", ""},
		{"UTF-8", "héllo ✓", "héllo ✓"},
		{"colons and spaces", ": not a comment\n  data: x", ": not a comment\n  data: x"},
	} {
		id := e.publish(t, "t", tt.payload)
		f := raw.message(t, id, tt.want)
		if !f.hasData || f.event != "" {
			t.Fatalf("%s: %+v, want a data event with no event name", tt.name, f)
		}
		f = env.event(t)
		var got struct {
			Topic       string  `json:"topic"`
			ID          string  `json:"id"`
			Data        *string `json:"data"`
			PublishTime string  `json:"publish_time"`
		}
		if err := json.Unmarshal([]byte(f.data), &got); err != nil || f.id != id.String() ||
			got.ID != id.String() || got.Topic != "t" || got.Data == nil || *got.Data != tt.payload {
			t.Fatalf("%s: envelope frame %+v (%v), want the payload %q byte for byte", tt.name, f, err, tt.payload)
		}
		if _, err := time.Parse(time.RFC3339Nano, got.PublishTime); err != nil {
			t.Fatalf("%s: publish_time %q: %v", tt.name, got.PublishTime, err)
		}
	}

	// An event name becomes event: in raw mode; an envelope frame stays a
	// plain message event and carries the name inside.
	id := publishReq(t, e.eng, engine.PublishRequest{Topic: "t", Data: []byte("x"), Event: "greeting", ContentType: "text/plain"})
	if f := raw.message(t, id, "x"); f.event != "greeting" {
		t.Fatalf("event %q, want greeting", f.event)
	}
	if f := env.event(t); f.event != "" || f.id != id.String() || !strings.Contains(f.data, `"event":"greeting"`) {
		t.Fatalf("envelope frame %+v, want a plain message event whose envelope names greeting", f)
	}

	// A payload that is not UTF-8: base64 in raw mode, data_base64 in the
	// envelope.
	bin := []byte{0xff, 0x00, '\n', 0xfe}
	id = publishReq(t, e.eng, engine.PublishRequest{Topic: "t", Data: bin})
	raw.message(t, id, base64.StdEncoding.EncodeToString(bin))
	var got struct {
		Data       *string `json:"data"`
		DataBase64 []byte  `json:"data_base64"`
	}
	if f := env.event(t); json.Unmarshal([]byte(f.data), &got) != nil || got.Data != nil || string(got.DataBase64) != string(bin) {
		t.Fatalf("envelope of a binary payload: %+v", got)
	}

	// Event names that would inject fields or pose as control events are
	// left out of the frame (the publish API refuses them; this is the
	// last line of defence).
	for _, ev := range []string{"a\nid: 999", "x\rretry: 1", "herald.error", "sp ace"} {
		id := publishReq(t, e.eng, engine.PublishRequest{Topic: "t", Data: []byte("d"), Event: ev})
		if f := raw.message(t, id, "d"); f.event != "" || f.retry != "" {
			t.Fatalf("event name %q gave frame %+v, want a plain message", ev, f)
		}
		env.event(t)
	}
}

func TestResumeWithoutGapOrDuplicate(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	for _, tt := range []struct {
		name   string
		query  func(first engine.ID) string
		header func(first engine.ID) http.Header
	}{
		{"Last-Event-ID", func(engine.ID) string { return "" },
			func(first engine.ID) http.Header { return http.Header{"Last-Event-Id": {first.String()}} }},
		{"query", func(first engine.ID) string { return "&last_event_id=" + first.String() },
			func(engine.ID) http.Header { return nil }},
		// The header wins over the query, which would be refused.
		{"header wins", func(engine.ID) string { return "&last_event_id=bogus" },
			func(first engine.ID) http.Header { return http.Header{"Last-Event-Id": {first.String()}} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			topic := strings.ReplaceAll(tt.name, " ", "-")
			first := e.publish(t, topic, "1")
			second := e.publish(t, topic, "2")
			e.publish(t, "other", "not mine")
			third := e.publish(t, topic, "3")
			s := e.open(t, "/v1/sse?topic="+topic+tt.query(first), tt.header(first))
			s.subscribed(t)
			s.message(t, second, "2")
			s.message(t, third, "3")
			live := e.publish(t, topic, "live")
			s.message(t, live, "live")
			s.close()
		})
	}
}

func TestHistoryGapEvent(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{engine: memory.Options{HistorySize: 1}})
	first := e.publish(t, "t", "1")
	e.publish(t, "t", "2")
	last := e.publish(t, "t", "3")

	s := e.open(t, "/v1/sse?topic=t&last_event_id="+first.String(), nil)
	s.subscribed(t)
	f := s.event(t)
	var gap gapData
	if f.event != eventGap || f.hasID || json.Unmarshal([]byte(f.data), &gap) != nil {
		t.Fatalf("got %+v, want a herald.gap event without id", f)
	}
	if gap.Reason != "REASON_TRUNCATED" || gap.RequestedID != first.String() ||
		gap.FirstAvailableID != last.String() || len(gap.Topics) != 1 || gap.Topics[0] != "t" {
		t.Fatalf("gap %+v", gap)
	}
	s.message(t, last, "3")
}

func TestRefusals(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{cfg: Config{AllowedOrigins: []string{"https://app.example.com"}}})
	id := e.publish(t, "t", "1")
	future := engine.ID{Epoch: id.Epoch, Seq: id.Seq + 9}

	for _, tt := range []struct {
		name, path string
		header     http.Header
		status     int
		msg        string
	}{
		{"no topic", "/v1/sse", nil, http.StatusBadRequest, "topics: at least one topic is required"},
		{"bad topic", "/v1/sse?topic=a&topic=" + url.QueryEscape("a b"), nil, http.StatusBadRequest, `topics[1]: pattern "a b"`},
		{"bad id", "/v1/sse?topic=a&last_event_id=nope", nil, http.StatusBadRequest, `last_event_id "nope" is not a message id`},
		{"bad header id", "/v1/sse?topic=a", http.Header{"Last-Event-Id": {"zz"}}, http.StatusBadRequest, "is not a message id"},
		{"future id", "/v1/sse?topic=a&last_event_id=" + future.String(), nil, http.StatusBadRequest, "ahead of the stream"},
		{"bad heartbeat", "/v1/sse?topic=a&heartbeat=soon", nil, http.StatusBadRequest, `heartbeat "soon" is not a duration`},
		{"bad envelope", "/v1/sse?topic=a&envelope=yes", nil, http.StatusBadRequest, `envelope "yes"`},
		{"foreign origin", "/v1/sse?topic=a", http.Header{"Origin": {"https://evil.example"}}, http.StatusForbidden, `origin "https://evil.example" is not allowed`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e.refused(t, tt.path, tt.header, tt.status, tt.msg)
		})
	}
	if n := value(t, e.metrics.Refused.WithLabelValues(metrics.TransportSSE, "invalid_argument")); n != 7 {
		t.Fatalf("%v invalid_argument refusals counted, want 7", n)
	}
	if n := value(t, e.metrics.Refused.WithLabelValues(metrics.TransportSSE, "forbidden_origin")); n != 1 {
		t.Fatalf("%v forbidden_origin refusals counted, want 1", n)
	}

	// Allowed origins, the server's own among them, are served.
	s := e.open(t, "/v1/sse?topic=a", http.Header{"Origin": {"https://app.example.com"}})
	s.subscribed(t)
	s = e.open(t, "/v1/sse?topic=a", http.Header{"Origin": {e.base}})
	s.subscribed(t)

	resp, err := e.client.Post(e.base+"/v1/sse?topic=a", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || resp.Header.Get("Allow") != http.MethodGet {
		t.Fatalf("POST: %s, Allow %q", resp.Status, resp.Header.Get("Allow"))
	}
}

func TestCORSPreflight(t *testing.T) {
	t.Parallel()
	origins := []string{"https://app.example.com"}
	eng := memory.New(memory.Options{})
	t.Cleanup(func() { _ = eng.Close() })
	e := &env{eng: eng, metrics: metrics.New()}
	e.h = New(newLocal(eng), Config{AllowedOrigins: origins, Metrics: e.metrics})
	e.base, e.client = serve(t, gateway.CORS(origins, e.h), http1, nil)
	t.Cleanup(func() { _ = e.h.Shutdown(t.Context()) })

	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, e.base+"/v1/sse?topic=a", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", http.MethodGet)
	req.Header.Set("Access-Control-Request-Headers", "last-event-id")
	resp, err := e.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent ||
		resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" {
		t.Fatalf("preflight: %s %v", resp.Status, resp.Header)
	}

	s := e.open(t, "/v1/sse?topic=a", http.Header{"Origin": {"https://app.example.com"}})
	if got := s.resp.Header.Get("Access-Control-Allow-Origin"); got != "https://app.example.com" {
		t.Fatalf("stream Access-Control-Allow-Origin %q", got)
	}
	s.subscribed(t)
}

func TestDeliveryMetrics(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	s := e.open(t, "/v1/sse?topic=t", nil)
	s.subscribed(t)
	if n := e.subscriptions(t); n != 1 {
		t.Fatalf("subscriptions gauge %v, want 1", n)
	}
	for i := range 3 {
		id := e.publish(t, "t", strconv.Itoa(i))
		s.message(t, id, strconv.Itoa(i))
	}
	delivered := e.metrics.Delivered.WithLabelValues(metrics.TransportSSE)
	waitFor(t, testTimeout, "3 deliveries counted", func() bool { return value(t, delivered) == 3 })
	if n := value(t, e.metrics.Latency.WithLabelValues(metrics.TransportSSE).(prometheusCollector)); n != 3 {
		t.Fatalf("%v latency observations, want 3", n)
	}
	s.close()
	waitFor(t, testTimeout, "the stream's end", func() bool { return e.subscriptions(t) == 0 })
	if n := value(t, e.metrics.Connections.WithLabelValues(metrics.TransportSSE)); n != 0 {
		t.Fatalf("connections gauge %v after the client left", n)
	}
}

func TestLargeMessagesAndLongReplays(t *testing.T) {
	t.Parallel()
	for _, p := range []proto{http1, h2c} {
		t.Run(string(p), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{proto: p, engine: memory.Options{HistorySize: 10000}})
			start := e.publish(t, "t", "start")
			// Frames below, at and above the size written without a copy,
			// and enough small ones to fill several buffers.
			var want []string
			for _, n := range []int{directFrame - 100, directFrame, 200 << 10, 1 << 20} {
				want = append(want, strings.Repeat("L", n))
			}
			for i := range 3000 {
				want = append(want, "small "+strconv.Itoa(i))
			}
			var ids []engine.ID
			for _, d := range want {
				ids = append(ids, e.publish(t, "t", d))
			}
			s := e.open(t, "/v1/sse?topic=t&last_event_id="+start.String(), nil)
			s.subscribed(t)
			for i, d := range want {
				if f := s.event(t); f.id != ids[i].String() || f.data != d {
					t.Fatalf("replayed message %d: id %s, %d bytes; want %s, %d bytes", i, f.id, len(f.data), ids[i], len(d))
				}
			}
		})
	}
}
