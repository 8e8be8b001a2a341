package app_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/app"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

func TestSSEOverHTTP1AndH2C(t *testing.T) {
	t.Parallel()
	n := startNode(t, testConfig(t))
	for _, tc := range []struct {
		name  string
		hc    *http.Client
		major int
	}{
		{"HTTP/1.1", httpClient(t), 1},
		{"h2c", h2cClient(t), 2},
	} {
		s := openSSE(t, tc.hc, baseURL(n)+"/v1/sse?topic=news", nil)
		if s.resp.ProtoMajor != tc.major || s.resp.Header.Get("Content-Type") != "text/event-stream" {
			t.Fatalf("%s: %s, %v", tc.name, s.resp.Proto, s.resp.Header)
		}
		if ev := s.next(t); ev.event != "herald.subscribed" {
			t.Fatalf("%s: first event %+v", tc.name, ev)
		}
		code, body := post(t, tc.hc, baseURL(n)+"/v1/topics/news", "text/plain", "line 1\r\nline 2")
		if code != http.StatusOK {
			t.Fatalf("%s: publish %d %s", tc.name, code, body)
		}
		var res struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(body), &res); err != nil {
			t.Fatal(err)
		}
		if ev := s.next(t); ev.id != res.ID || ev.data != "line 1\nline 2" {
			t.Fatalf("%s: got %+v, want message %s", tc.name, ev, res.ID)
		}
		_ = s.resp.Body.Close()
	}
}

func TestWebSocketPageAndClientAreMounted(t *testing.T) {
	t.Parallel()
	n := startNode(t, testConfig(t))
	hc := httpClient(t)

	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	conn, resp, err := websocket.DefaultDialer.DialContext(ctx, "ws://"+n.HTTPAddr().String()+"/v1/ws?topic=news", nil)
	if err != nil {
		t.Fatalf("WebSocket handshake: %v", err)
	}
	_ = resp.Body.Close()
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	var f struct {
		Type   string   `json:"type"`
		Topics []string `json:"topics"`
	}
	if err := conn.ReadJSON(&f); err != nil || f.Type != "subscribed" || len(f.Topics) != 1 {
		t.Fatalf("first WebSocket frame %+v (%v), want subscribed", f, err)
	}

	for _, tc := range []struct{ path, contentType string }{
		{"/", "text/html"},
		{"/herald.js", "javascript"},
	} {
		resp, err := hc.Get(baseURL(n) + tc.path)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(resp.Header.Get("Content-Type"), tc.contentType) {
			t.Fatalf("GET %s: %s %q", tc.path, resp.Status, resp.Header.Get("Content-Type"))
		}
	}
	// The gateway still answers everything else.
	if code, body := get(t, hc, baseURL(n)+"/nope"); code != http.StatusNotFound || !strings.Contains(body, `"code":5`) {
		t.Fatalf("GET /nope: %d %s", code, body)
	}
}

func TestSSECORSPreflight(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.AllowedOrigins = []string{"https://app.example.com"}
	n := startNode(t, cfg)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodOptions, baseURL(n)+"/v1/sse?topic=a", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Origin", "https://app.example.com")
	req.Header.Set("Access-Control-Request-Method", http.MethodGet)
	req.Header.Set("Access-Control-Request-Headers", "last-event-id")
	resp, err := httpClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent || resp.Header.Get("Access-Control-Allow-Origin") != "https://app.example.com" {
		t.Fatalf("preflight: %s %v", resp.Status, resp.Header)
	}
	// Another origin is refused outright.
	hdr := http.Header{"Origin": {"https://other.example.com"}}
	req, _ = http.NewRequestWithContext(t.Context(), http.MethodGet, baseURL(n)+"/v1/sse?topic=a", nil)
	req.Header = hdr
	resp, err = httpClient(t).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Fatalf("GET from a foreign origin: %s", resp.Status)
	}
}

func TestSSEClientsResumeAcrossARestart(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	first, err := app.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	hc := httpClient(t)
	conn := dial(t, first.GRPCAddr().String())
	ctx := t.Context()
	s := openSSE(t, hc, baseURL(first)+"/v1/sse?topic=news", nil)
	s.next(t) // subscribed
	before, err := heraldv1.NewPubSubServiceClient(conn).Publish(ctx, &heraldv1.PublishRequest{Topic: "news", Data: []byte("before")})
	if err != nil {
		t.Fatal(err)
	}
	if ev := s.next(t); ev.id != before.GetId() {
		t.Fatalf("got %+v, want %s", ev, before.GetId())
	}

	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := first.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	rest := s.rest(t)
	if len(rest) == 0 || rest[len(rest)-1].event != "herald.error" || !strings.Contains(rest[len(rest)-1].data, `"going_away"`) {
		t.Fatalf("after shutdown the stream said %+v, want a going_away error last", rest)
	}

	// A new node (a new history) on the same addresses; a message is
	// published before the client is back.
	cfg.GRPCAddr = first.GRPCAddr().String()
	cfg.HTTPAddr = first.HTTPAddr().String()
	second := startNode(t, cfg)
	after, err := heraldv1.NewPubSubServiceClient(dial(t, second.GRPCAddr().String())).Publish(ctx,
		&heraldv1.PublishRequest{Topic: "news", Data: []byte("after")})
	if err != nil {
		t.Fatal(err)
	}
	s = openSSE(t, hc, baseURL(second)+"/v1/sse?topic=news", http.Header{"Last-Event-Id": {before.GetId()}})
	if ev := s.next(t); ev.event != "herald.subscribed" || ev.hasID {
		t.Fatalf("resumed: %+v, want subscribed without id", ev)
	}
	ev := s.next(t)
	if ev.event != "herald.gap" || !strings.Contains(ev.data, `"REASON_EPOCH_CHANGED"`) || !strings.Contains(ev.data, before.GetId()) {
		t.Fatalf("got %+v, want an epoch-changed gap", ev)
	}
	if ev := s.next(t); ev.id != after.GetId() || ev.data != "after" {
		t.Fatalf("got %+v, want the message published while away", ev)
	}
}
