package e2e

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/web"
)

// A scripted server speaks the browser protocol from a script, one function
// per connection, so that the client's reactions to every situation —
// including the server's misbehaviour — are tested without a node. It serves
// web.Handler for the module and a blank page to run it in.
type scripted struct {
	t    *testing.T
	srv  *httptest.Server
	done chan struct{} // closed when the test ends: scripts stop waiting

	mu   sync.Mutex
	reqs []*http.Request // every /v1/sse and /v1/ws request, in order

	// sse serves the n-th (0-based) request of its endpoint, ws the n-th
	// WebSocket connection.
	sse func(n int, w http.ResponseWriter, r *http.Request)
	ws  func(n int, c *websocket.Conn, r *http.Request)
	// wsRefuse, when set, may refuse a /v1/ws request (a handshake, or the
	// client's probe of a failed one) with an HTTP status other than 0 and
	// a JSON error body. Requests that pass it and are no WebSocket
	// handshake get 400, as from a node.
	wsRefuse func(r *http.Request) (status int, body string)
}

func newScripted(t *testing.T) *scripted {
	s := &scripted{t: t, done: make(chan struct{})}
	var nSSE, nWS int
	mux := http.NewServeMux()
	mux.Handle("/", web.Handler())
	mux.HandleFunc("GET /blank", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, "<!doctype html><title>blank</title>")
	})
	mux.HandleFunc("GET /v1/sse", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		n := nSSE
		nSSE++
		s.mu.Unlock()
		s.sse(n, w, r)
	})
	upgrader := websocket.Upgrader{} // same-origin only
	mux.HandleFunc("GET /v1/ws", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.reqs = append(s.reqs, r)
		s.mu.Unlock()
		if s.wsRefuse != nil {
			if status, body := s.wsRefuse(r); status != 0 {
				writeJSON(w, status, body)
				return
			}
		}
		if !websocket.IsWebSocketUpgrade(r) {
			writeJSON(w, http.StatusBadRequest, `{"code":3,"message":"this endpoint speaks WebSocket","details":[]}`)
			return
		}
		s.mu.Lock()
		n := nWS
		nWS++
		s.mu.Unlock()
		c, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("WebSocket upgrade: %v", err)
			return
		}
		defer c.Close()
		stop := make(chan struct{})
		defer close(stop)
		go func() { // the test's end unblocks the script's reads
			select {
			case <-s.done:
				_ = c.Close()
			case <-stop:
			}
		}()
		s.ws(n, c, r)
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	t.Cleanup(func() { close(s.done) })
	return s
}

// writeJSON answers with status and a JSON body.
func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, body)
}

// request returns the n-th recorded request, waiting for it.
func (s *scripted) request(n int) *http.Request {
	s.t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		s.mu.Lock()
		if n < len(s.reqs) {
			r := s.reqs[n]
			s.mu.Unlock()
			return r
		}
		got := len(s.reqs)
		s.mu.Unlock()
		if time.Now().After(deadline) {
			s.t.Fatalf("timed out waiting for request %d; got %d", n+1, got)
		}
		time.Sleep(pollInterval)
	}
}

func (s *scripted) requestCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reqs)
}

// checkQuery fails the test unless the request's query has exactly these
// topics and last_event_id, and no Last-Event-ID header (the client resumes
// itself, never through EventSource's own reconnect).
func checkQuery(t *testing.T, n int, r *http.Request, topics []string, lastEventID string) {
	t.Helper()
	q := r.URL.Query()
	if got := q["topic"]; !slices.Equal(got, topics) {
		t.Errorf("request %d: topics %q, want %q", n+1, got, topics)
	}
	if got := q.Get("last_event_id"); got != lastEventID {
		t.Errorf("request %d: last_event_id %q, want %q", n+1, got, lastEventID)
	}
	if h := r.Header.Get("Last-Event-ID"); h != "" {
		t.Errorf("request %d: Last-Event-ID header %q: the browser resumed by itself", n+1, h)
	}
}

// sseStream starts an event stream and returns a function that writes and
// flushes a piece of it.
func sseStream(w http.ResponseWriter) func(string) {
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	return func(s string) {
		_, _ = io.WriteString(w, s)
		_ = rc.Flush()
	}
}

func envelope(topic, id, data, event string) string {
	m := map[string]string{"topic": topic, "id": id, "data": data, "content_type": "text/plain",
		"publish_time": "2026-01-02T03:04:05.678Z"}
	if event != "" {
		m["event"] = event
	}
	b, _ := json.Marshal(m)
	return string(b)
}

// The SSE client: resuming from the subscription's position before any
// message and from the last message after, named events, a server error,
// a gap, the heartbeat timeout and a final refusal, each answered as
// docs/browser-client.md says.
func TestClientSSEFollowsTheProtocol(t *testing.T) {
	s := newScripted(t)
	silentSince := make(chan time.Time, 1)
	left := make(chan time.Time, 1)
	s.sse = func(n int, w http.ResponseWriter, r *http.Request) {
		if n < 3 && r.URL.Query().Get("envelope") != "1" {
			t.Errorf("request %d: envelope %q, want 1", n+1, r.URL.Query().Get("envelope"))
		}
		switch n {
		case 0: // confirm, then end at once: no message seen
			send := sseStream(w)
			send("retry: 2000\n\n")
			send("id: E-0\nevent: herald.subscribed\n" +
				`data: {"topics":["t"],"current_id":"E-0","heartbeat_interval":"1s"}` + "\n\n")
		case 1: // messages, named ones too (the envelope carries the name), then a going-away end
			send := sseStream(w)
			send("retry: 2000\n\nevent: herald.subscribed\n" +
				`data: {"topics":["t"],"current_id":"E-0","heartbeat_interval":"1s"}` + "\n\n")
			send("id: E-1\ndata: " + envelope("t", "E-1", "hello", "") + "\n\n")
			send("id: E-2\ndata: " + envelope("t", "E-2", "hi", "greeting") + "\n\n")
			send("id: E-3\ndata: " + envelope("t", "E-3", "not a failure", "error") + "\n\n")
			send("event: herald.error\n" + `data: {"code":"going_away","message":"server is shutting down"}` + "\n\n")
		case 2: // a gap and a message, then silence
			send := sseStream(w)
			send("retry: 2000\n\nevent: herald.subscribed\n" +
				`data: {"topics":["t"],"current_id":"F-1","heartbeat_interval":"1s"}` + "\n\n")
			send("event: herald.gap\n" +
				`data: {"topics":["t"],"requested_id":"E-3","first_available_id":"F-1","reason":"REASON_EPOCH_CHANGED"}` + "\n\n")
			send("id: F-1\ndata: " + envelope("t", "F-1", "line 1\nline 2", "") + "\n\n")
			silentSince <- time.Now()
			select {
			case <-r.Context().Done():
				left <- time.Now()
			case <-s.done:
			}
		default: // refused: the stream and the client's probe alike
			writeJSON(w, http.StatusBadRequest, `{"code":3,"message":"last_event_id is from the future","details":[]}`)
		}
	}

	tb := newTab(t, s.srv.URL+"/blank")
	tb.startClient("c", map[string]any{
		"topics": []string{"t"}, "transport": "sse",
		"backoff": map[string]any{"initial": 50, "max": 200},
	})
	tb.waitEvent("c", "state:closed", 1)

	checkQuery(t, 0, s.request(0), []string{"t"}, "")
	checkQuery(t, 1, s.request(1), []string{"t"}, "E-0") // the subscription's position
	checkQuery(t, 2, s.request(2), []string{"t"}, "E-3") // the last message
	checkQuery(t, 3, s.request(3), []string{"t"}, "F-1") // refused…
	checkQuery(t, 4, s.request(4), []string{"t"}, "F-1") // …and probed for the reason
	if got := s.request(4).Header.Get("Accept"); got != "text/event-stream" {
		t.Errorf("probe Accept %q", got)
	}
	if n := s.requestCount(); n != 5 {
		t.Errorf("%d requests, want 5: a refused client must stop", n)
	}

	// The client left the silent stream after two heartbeat intervals.
	since, quit := <-silentSince, <-left
	if d := quit.Sub(since); d < 1800*time.Millisecond {
		t.Errorf("left a silent stream after %v, before two heartbeat intervals (2s)", d)
	}

	ev := tb.events("c")
	want := []string{
		"state:connecting", "state:open", "open",
		"close:network", "state:reconnecting",
		"state:open", "open", "message:E-1", "message:E-2", "message:E-3",
		"close:going_away", "state:reconnecting",
		"state:open", "open", "gap", "message:F-1",
		"error:heartbeat_timeout", "close:heartbeat_timeout", "state:reconnecting",
		"error:refused", "close:refused", "state:closed",
	}
	if got := sequence(ev); !slices.Equal(got, want) {
		t.Fatalf("events\n got %s\nwant %s", seqString(got), seqString(want))
	}

	msgs := only(ev, "message")
	if m := msgs[0]; m.Topic != "t" || m.Data != "hello" || m.ContentType != "text/plain" || m.Event != "" ||
		m.PublishTime != "2026-01-02T03:04:05.678Z" || m.DataBase64 != nil {
		t.Errorf("first message %+v", m)
	}
	if msgs[1].Event != "greeting" || msgs[2].Event != "error" || msgs[2].Data != "not a failure" {
		t.Errorf("named messages %+v %+v", msgs[1], msgs[2])
	}
	if msgs[3].Data != "line 1\nline 2" {
		t.Errorf("multi-line data %q", msgs[3].Data)
	}
	if o := only(ev, "open")[0]; o.Transport != "sse" || o.CurrentID != "E-0" || o.HeartbeatInterval != 1000 ||
		!slices.Equal(o.Topics, []string{"t"}) {
		t.Errorf("open %+v", o)
	}
	if g := only(ev, "gap")[0]; g.RequestedID != "E-3" || g.FirstAvailableID != "F-1" ||
		g.Reason != "REASON_EPOCH_CHANGED" || !slices.Equal(g.Topics, []string{"t"}) {
		t.Errorf("gap %+v", g)
	}
	if c := only(ev, "close")[1]; c.Message != "server is shutting down" || !c.Reconnect {
		t.Errorf("going-away close %+v", c)
	}
	if e := only(ev, "error")[1]; !e.Fatal || e.Status != 400 || e.Message != "last_event_id is from the future" {
		t.Errorf("refusal %+v", e)
	}
	closes := only(ev, "close")
	if !closes[0].Reconnect || closes[len(closes)-1].Reconnect {
		t.Errorf("close events %+v", closes)
	}
	if id := eval[string](tb, client("c")+".h.lastEventId"); id != "F-1" {
		t.Errorf("lastEventId %q, want F-1", id)
	}
}

// Changing the topics of an SSE client reconnects with the new set, resuming
// after the last message; removing them all leaves it waiting.
func TestClientSSEResubscribes(t *testing.T) {
	s := newScripted(t)
	left := make(chan int, 4)
	s.sse = func(n int, w http.ResponseWriter, r *http.Request) {
		send := sseStream(w)
		send(fmt.Sprintf("id: E-%d\nevent: herald.subscribed\n", n) +
			fmt.Sprintf(`data: {"topics":[],"current_id":"E-%d","heartbeat_interval":"10s"}`, n) + "\n\n")
		if n == 0 {
			send("id: E-5\ndata: " + envelope("t", "E-5", "x", "") + "\n\n")
		}
		select {
		case <-r.Context().Done():
			left <- n
		case <-s.done:
		}
	}
	tb := newTab(t, s.srv.URL+"/blank")
	tb.startClient("c", map[string]any{"topics": []string{"t"}})
	tb.waitEvent("c", "message:E-5", 1)

	eval[any](tb, client("c")+`.h.subscribe(['u', 't', 'v.>'])`)
	tb.waitEvent("c", "open", 2)
	checkQuery(t, 1, s.request(1), []string{"t", "u", "v.>"}, "E-5")
	if n := <-left; n != 0 {
		t.Errorf("connection %d left, want the first", n+1)
	}

	eval[any](tb, client("c")+`.h.unsubscribe(['t', 'u', 'v.>'])`)
	tb.waitEvent("c", "state:connecting", 2)
	if n := <-left; n != 1 {
		t.Errorf("connection %d left, want the second", n+1)
	}
	if got := eval[[]string](tb, client("c")+`.h.topics`); len(got) != 0 {
		t.Errorf("topics %q after removing them all", got)
	}
	eval[any](tb, client("c")+`.h.subscribe('w')`)
	tb.waitEvent("c", "open", 3)
	checkQuery(t, 2, s.request(2), []string{"w"}, "E-5")

	eval[any](tb, client("c")+`.h.close()`)
	tb.waitEvent("c", "state:closed", 1)
	if n := <-left; n != 2 {
		t.Errorf("connection %d left, want the third", n+1)
	}
	want := []string{
		"state:connecting", "state:open", "open", "message:E-5",
		"close:resubscribe", "state:reconnecting", "state:open", "open",
		"close:resubscribe", "state:reconnecting", "state:connecting", "state:open", "open",
		"close:client", "state:closed",
	}
	if got := sequence(tb.events("c")); !slices.Equal(got, want) {
		t.Errorf("events\n got %s\nwant %s", seqString(got), seqString(want))
	}
	// Topics are checked before anything is sent.
	if msg := eval[string](tb, `(() => { try { `+client("c")+`.h.subscribe('a..b'); return 'accepted' } catch (e) { return e.name + ': ' + e.message } })()`); msg == "accepted" {
		t.Error("subscribe accepted the topic a..b")
	}
}

type wsFrame struct {
	Type        string   `json:"type"`
	Topics      []string `json:"topics"`
	LastEventID *string  `json:"last_event_id"`
	ID          string   `json:"id"`
}

func readFrame(t *testing.T, c *websocket.Conn) (wsFrame, error) {
	var f wsFrame
	_ = c.SetReadDeadline(time.Now().Add(waitTimeout))
	_, b, err := c.ReadMessage()
	if err != nil {
		return f, err
	}
	if err := json.Unmarshal(b, &f); err != nil {
		t.Errorf("client frame %s: %v", b, err)
	}
	return f, nil
}

func writeFrame(c *websocket.Conn, frame string) {
	_ = c.SetWriteDeadline(time.Now().Add(waitTimeout))
	_ = c.WriteMessage(websocket.TextMessage, []byte(frame))
}

// readUntilGone reads and drops the client's frames until it leaves.
func readUntilGone(c *websocket.Conn) {
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return
		}
	}
}

// holdSubscribed is a WebSocket script: it confirms a subscription to
// topic t, then sends nothing until the client leaves.
func holdSubscribed(_ int, c *websocket.Conn, _ *http.Request) {
	writeFrame(c, `{"type":"subscribed","topics":["t"],"current_id":"E-0","heartbeat_interval":"15s"}`)
	readUntilGone(c)
}

func closeWith(c *websocket.Conn, code int, reason string) {
	_ = c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(waitTimeout))
}

// The WebSocket client: topic changes as frames on the open connection, a
// slow-consumer close resumed from the last message, binary payloads, the
// heartbeat timeout, a refused subscribe and a fatal close.
func TestClientWebSocketFollowsTheProtocol(t *testing.T) {
	s := newScripted(t)
	frames := make(chan wsFrame, 4)
	silence := make(chan time.Duration, 1)
	s.ws = func(n int, c *websocket.Conn, r *http.Request) {
		switch n {
		case 0:
			writeFrame(c, `{"type":"subscribed","topics":["t"],"current_id":"E-0","heartbeat_interval":"1s"}`)
			writeFrame(c, `{"type":"message",`+envelope("t", "E-1", "one", "")[1:])
			f, err := readFrame(t, c) // the test subscribes to u
			if err != nil {
				t.Errorf("reading the subscribe frame: %v", err)
				return
			}
			frames <- f
			writeFrame(c, `{"type":"subscribed","topics":["t","u"],"current_id":"E-1","heartbeat_interval":"1s"}`)
			writeFrame(c, `{"type":"message",`+envelope("u", "E-2", "two", "")[1:])
			writeFrame(c, `{"type":"heartbeat","time":"2026-01-02T03:04:05Z"}`)
			closeWith(c, 4000, "slow consumer")
		case 1:
			writeFrame(c, `{"type":"subscribed","topics":["t","u"],"current_id":"F-1","heartbeat_interval":"1s"}`)
			writeFrame(c, `{"type":"gap","topics":["t","u"],"requested_id":"E-2","first_available_id":"F-1","reason":"REASON_EPOCH_CHANGED"}`)
			writeFrame(c, `{"type":"message","topic":"t","id":"F-1","data_base64":"/w==","publish_time":"2026-01-02T03:04:05Z"}`)
			start := time.Now()
			if _, err := readFrame(t, c); err == nil {
				t.Error("the client sent a frame instead of leaving a silent connection")
			}
			silence <- time.Since(start)
		default:
			writeFrame(c, `{"type":"subscribed","topics":["t","u"],"current_id":"F-1","heartbeat_interval":"1s"}`)
			f, err := readFrame(t, c) // the test subscribes to v, which is refused
			if err != nil {
				t.Errorf("reading the subscribe frame: %v", err)
				return
			}
			frames <- f
			writeFrame(c, fmt.Sprintf(`{"type":"error","code":"invalid_argument","message":"topic v is not allowed","id":%q}`, f.ID))
			closeWith(c, 1008, "repeated malformed frames")
		}
		// Wait for the client's close, so that the test sees it go.
		for {
			if _, err := readFrame(t, c); err != nil {
				return
			}
		}
	}

	tb := newTab(t, s.srv.URL+"/blank")
	tb.startClient("c", map[string]any{
		"topics": []string{"t"}, "transport": "ws", "backoff": map[string]any{"initial": 50, "max": 200},
	})
	tb.waitEvent("c", "message:E-1", 1)
	eval[any](tb, client("c")+`.h.subscribe('u')`)
	if f := <-frames; f.Type != "subscribe" || !slices.Equal(f.Topics, []string{"u"}) || f.LastEventID != nil || f.ID == "" {
		t.Errorf("subscribe frame on a subscribed connection %+v: want topics [u], an id, no last_event_id", f)
	}
	tb.waitEvent("c", "open", 3) // the third connection
	eval[any](tb, client("c")+`.h.subscribe('v')`)
	tb.waitEvent("c", "state:closed", 1)

	checkQuery(t, 0, s.request(0), []string{"t"}, "")
	checkQuery(t, 1, s.request(1), []string{"t", "u"}, "E-2")
	checkQuery(t, 2, s.request(2), []string{"t", "u"}, "F-1")
	if n := s.requestCount(); n != 3 {
		t.Errorf("%d connections, want 3: a fatal close must stop the client", n)
	}
	if f := <-frames; f.Type != "subscribe" || !slices.Equal(f.Topics, []string{"v"}) || f.ID == "" {
		t.Errorf("second subscribe frame %+v", f)
	}
	if d := <-silence; d < 1800*time.Millisecond {
		t.Errorf("left a silent connection after %v, before two heartbeat intervals (2s)", d)
	}

	ev := tb.events("c")
	want := []string{
		"state:connecting", "state:open", "open", "message:E-1", "message:E-2",
		"close:slow_consumer", "state:reconnecting",
		"state:open", "open", "gap", "message:F-1",
		"error:heartbeat_timeout", "close:heartbeat_timeout", "state:reconnecting",
		"state:open", "open", "error:invalid_argument",
		"error:policy_violation", "close:policy_violation", "state:closed",
	}
	if got := sequence(ev); !slices.Equal(got, want) {
		t.Fatalf("events\n got %s\nwant %s", seqString(got), seqString(want))
	}
	msgs := only(ev, "message")
	if m := msgs[1]; m.Topic != "u" || m.Data != "two" {
		t.Errorf("message after the subscribe frame %+v", m)
	}
	if m := msgs[2]; m.DataBase64 == nil || *m.DataBase64 != "/w==" || m.Data != "" || m.ContentType != "" {
		t.Errorf("binary message %+v", m)
	}
	closes := only(ev, "close")
	if c := closes[0]; c.Code != float64(4000) || c.Message != "slow consumer" || !c.Reconnect {
		t.Errorf("slow-consumer close %+v", c)
	}
	if c := closes[2]; c.Code != float64(1008) || c.Reconnect {
		t.Errorf("policy close %+v", c)
	}
	errs := only(ev, "error")
	if e := errs[1]; e.Fatal || e.Request != "subscribe" || !slices.Equal(e.Topics, []string{"v"}) ||
		e.Message != "topic v is not allowed" {
		t.Errorf("refused subscribe %+v", e)
	}
	if e := errs[2]; !e.Fatal || e.CloseCode != 1008 {
		t.Errorf("fatal close error %+v", e)
	}
	if got := eval[[]string](tb, client("c")+`.h.topics`); !slices.Equal(got, []string{"t", "u"}) {
		t.Errorf("topics %q after a refused subscribe, want [t u]", got)
	}
	if id := eval[string](tb, client("c")+".h.lastEventId"); id != "F-1" {
		t.Errorf("lastEventId %q, want F-1", id)
	}
}

// A WebSocket client without topics connects unsubscribed and starts its
// first subscription with a frame that resumes after lastEventId.
func TestClientWebSocketStartsWithoutTopics(t *testing.T) {
	s := newScripted(t)
	frames := make(chan wsFrame, 2)
	s.ws = func(n int, c *websocket.Conn, r *http.Request) {
		for {
			f, err := readFrame(t, c)
			if err != nil {
				return
			}
			frames <- f
			writeFrame(c, `{"type":"subscribed","topics":["a"],"current_id":"E-9","heartbeat_interval":"15s"}`)
		}
	}
	tb := newTab(t, s.srv.URL+"/blank")
	tb.startClient("c", map[string]any{"transport": "ws", "lastEventId": "E-7"})
	tb.waitEvent("c", "open", 1)
	checkQuery(t, 0, s.request(0), nil, "")
	eval[any](tb, client("c")+`.h.subscribe('a')`)
	f := <-frames
	if f.Type != "subscribe" || !slices.Equal(f.Topics, []string{"a"}) || f.LastEventID == nil || *f.LastEventID != "E-7" {
		t.Errorf("first subscribe frame %+v, want topics [a] and last_event_id E-7", f)
	}
	eval[any](tb, client("c")+`.h.unsubscribe('a')`)
	if f := <-frames; f.Type != "unsubscribe" || !slices.Equal(f.Topics, []string{"a"}) {
		t.Errorf("unsubscribe frame %+v", f)
	}
	// The position stays the one given: current_id of a resumed
	// subscription does not replace it.
	if id := eval[string](tb, client("c")+".h.lastEventId"); id != "E-7" {
		t.Errorf("lastEventId %q, want E-7", id)
	}
	eval[any](tb, client("c")+`.h.close()`)
	tb.waitEvent("c", "state:closed", 1)
	want := []string{"state:connecting", "state:open", "open", "close:client", "state:closed"}
	if got := sequence(tb.events("c")); !slices.Equal(got, want) {
		t.Errorf("events\n got %s\nwant %s", seqString(got), seqString(want))
	}
}

// Topics changed while the WebSocket is still connecting are sent as frames
// once it opens, and the answers are matched to their requests.
func TestClientWebSocketTopicsChangedWhileConnecting(t *testing.T) {
	s := newScripted(t)
	frames := make(chan wsFrame, 2)
	s.ws = func(n int, c *websocket.Conn, r *http.Request) {
		writeFrame(c, `{"type":"subscribed","topics":["t"],"current_id":"E-1","heartbeat_interval":"15s"}`)
		for {
			f, err := readFrame(t, c)
			if err != nil {
				return
			}
			frames <- f
			if slices.Contains(f.Topics, "bad") {
				writeFrame(c, fmt.Sprintf(`{"type":"error","code":"permission_denied","message":"not yours","id":%q}`, f.ID))
			} else {
				writeFrame(c, `{"type":"subscribed","topics":["t","u"],"current_id":"E-1","heartbeat_interval":"15s"}`)
			}
		}
	}
	tb := newTab(t, s.srv.URL+"/blank")
	tb.startClient("c", map[string]any{"topics": []string{"t"}, "transport": "ws"})
	eval[any](tb, client("c")+`.h.subscribe(['u', 'bad'])`) // still connecting
	tb.waitEvent("c", "error:permission_denied", 1)
	f := <-frames
	if f.Type != "subscribe" || !slices.Equal(f.Topics, []string{"u", "bad"}) || f.LastEventID != nil {
		t.Errorf("frame %+v, want a subscribe to [u bad] without last_event_id (the handshake subscribed)", f)
	}
	e := only(tb.events("c"), "error")[0]
	if e.ID == nil || *e.ID != f.ID || e.Request != "subscribe" || !slices.Equal(e.Topics, []string{"u", "bad"}) {
		t.Errorf("error %+v, want the answer to %s", e, f.ID)
	}
	if got := eval[[]string](tb, client("c")+`.h.topics`); !slices.Equal(got, []string{"t"}) {
		t.Errorf("topics %q, want [t]", got)
	}
	if id := eval[string](tb, client("c")+".h.lastEventId"); id != "E-1" {
		t.Errorf("lastEventId %q, want the subscription's E-1", id)
	}
	eval[any](tb, client("c")+`.h.close()`)
	tb.waitEvent("c", "state:closed", 1)
}

// What may succeed later is retried: a 503 (read through the probe), and a
// stream that never confirms its subscription (the connect timeout).
func TestClientSSERetriesWhatMaySucceed(t *testing.T) {
	s := newScripted(t)
	s.sse = func(n int, w http.ResponseWriter, r *http.Request) {
		switch n {
		case 0, 1: // the stream and its probe
			writeJSON(w, http.StatusServiceUnavailable, `{"code":14,"message":"server is shutting down","details":[]}`)
		case 2: // a stream that says nothing
			sseStream(w)
			select {
			case <-r.Context().Done():
			case <-s.done:
			}
		default:
			send := sseStream(w)
			send("id: E-1\nevent: herald.subscribed\n" +
				`data: {"topics":["t"],"current_id":"E-1","heartbeat_interval":"15s"}` + "\n\n")
			select {
			case <-r.Context().Done():
			case <-s.done:
			}
		}
	}
	tb := newTab(t, s.srv.URL+"/blank")
	tb.startClient("c", map[string]any{
		"topics": []string{"t"}, "connectTimeout": 1000, "backoff": map[string]any{"initial": 50, "max": 100},
	})
	tb.waitEvent("c", "open", 1)
	eval[any](tb, client("c")+`.h.close()`)
	want := []string{
		"state:connecting", "close:unavailable", "state:reconnecting",
		"error:connect_timeout", "close:connect_timeout", "state:open", "open",
		"close:client", "state:closed",
	}
	ev := tb.events("c")
	if got := sequence(ev); !slices.Equal(got, want) {
		t.Fatalf("events\n got %s\nwant %s", seqString(got), seqString(want))
	}
	if c := only(ev, "close")[0]; c.Status != 503 || c.Message != "server is shutting down" || !c.Reconnect {
		t.Errorf("close after a 503 %+v", c)
	}
	if n := s.requestCount(); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
}

// The module's helpers, as the page sees them.
func TestClientHelpers(t *testing.T) {
	s := newScripted(t)
	tb := newTab(t, s.srv.URL+"/blank")
	durations := eval[map[string]float64](tb, `(async () => {
  const { parseDuration } = await import('/herald.js');
  const out = {};
  for (const s of ['15s', '500ms', '1m30s', '1.5h', '2h0m0s', '250us', '0s', '', '10', 'x1s', '-1s', '1s2']) out[s] = parseDuration(s);
  return out;
})()`)
	for in, want := range map[string]float64{
		"15s": 15000, "500ms": 500, "1m30s": 90000, "1.5h": 5.4e6, "2h0m0s": 7.2e6, "250us": 0.25,
		"0s": 0, "": 0, "10": 0, "x1s": 0, "-1s": 0, "1s2": 0,
	} {
		if got, ok := durations[in]; !ok || got != want {
			t.Errorf("parseDuration(%q) = %v, want %v", in, got, want)
		}
	}
	topics := eval[map[string]string](tb, `(async () => {
  const { topicError } = await import('/herald.js');
  const out = {};
  for (const s of ['news', 'orders.*', 'alerts.>', '*.created', 'a_b-c:d@e.f', '', 'a..b', '.a', 'a.', 'ord*',
                   'a.>.b', 'a b', 'é', 'x'.repeat(255), 'x'.repeat(256)]) out[s] = topicError(s);
  return out;
})()`)
	valid := []string{"news", "orders.*", "alerts.>", "*.created", "a_b-c:d@e.f", strings.Repeat("x", 255)}
	invalid := []string{"", "a..b", ".a", "a.", "ord*", "a.>.b", "a b", "é", strings.Repeat("x", 256)}
	for _, in := range valid {
		if msg, ok := topics[in]; !ok || msg != "" {
			t.Errorf("topicError(%q) = %q, want valid", in, msg)
		}
	}
	for _, in := range invalid {
		if msg, ok := topics[in]; !ok || msg == "" {
			t.Errorf("topicError(%q) accepted it", in)
		}
	}
}
