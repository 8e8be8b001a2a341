package app_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
)

// testBridgeConfig is a bridge in front of upstream (a gRPC address) on a
// free loopback port with short intervals.
func testBridgeConfig(t *testing.T, upstream string) app.BridgeConfig {
	return app.BridgeConfig{
		Upstream:          upstream,
		HTTPAddr:          "127.0.0.1:0",
		HeartbeatInterval: 200 * time.Millisecond,
		ShutdownTimeout:   5 * time.Second,
		Logger:            slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// startBridge starts a bridge in front of upstream (a gRPC address), shut
// down at the end of the test.
func startBridge(t *testing.T, upstream string) *app.Bridge {
	t.Helper()
	return startBridgeWith(t, testBridgeConfig(t, upstream))
}

// startBridgeWith starts a bridge with cfg, shut down at the end of the
// test.
func startBridgeWith(t *testing.T, cfg app.BridgeConfig) *app.Bridge {
	t.Helper()
	b, err := app.StartBridge(t.Context(), cfg)
	if err != nil {
		t.Fatalf("StartBridge: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := b.Shutdown(ctx); err != nil {
			t.Errorf("bridge Shutdown: %v", err)
		}
	})
	return b
}

// publishHTTP publishes data to topic through base's raw route and returns
// the id.
func publishHTTP(t *testing.T, hc *http.Client, base, topic, data string) string {
	t.Helper()
	code, body := post(t, hc, base+"/v1/topics/"+topic, "text/plain", data)
	var res struct {
		ID string `json:"id"`
	}
	if code != http.StatusOK || json.Unmarshal([]byte(body), &res) != nil || res.ID == "" {
		t.Fatalf("publish through %s: %d %s", base, code, body)
	}
	return res.ID
}

func TestBridgeRelaysAnUpstream(t *testing.T) {
	t.Parallel()
	up := startNode(t, testConfig(t))
	b := startBridge(t, up.GRPCAddr().String())
	base := "http://" + b.HTTPAddr().String()
	hc := httpClient(t)

	waitFor(t, 20*time.Second, "the bridge to be ready", func() bool {
		code, _ := get(t, hc, base+"/readyz")
		return code == http.StatusOK
	})
	s := openSSE(t, hc, base+"/v1/sse?topic=news", nil)
	if ev := s.next(t); ev.event != "herald.subscribed" {
		t.Fatalf("first event %+v", ev)
	}
	// Published upstream, and through the bridge's own HTTP API.
	direct := publishHTTP(t, hc, baseURL(up), "news", "direct")
	if ev := s.next(t); ev.id != direct || ev.data != "direct" {
		t.Fatalf("got %+v, want %s", ev, direct)
	}
	relayed := publishHTTP(t, hc, base, "news", "through the bridge")
	if ev := s.next(t); ev.id != relayed || ev.data != "through the bridge" {
		t.Fatalf("got %+v, want %s", ev, relayed)
	}

	// A browser resumes on the bridge with the upstream's ids.
	r := openSSE(t, hc, base+"/v1/sse?topic=news", http.Header{"Last-Event-Id": {direct}})
	r.next(t)
	if ev := r.next(t); ev.id != relayed {
		t.Fatalf("resumed at %+v, want %s", ev, relayed)
	}

	code, body := get(t, hc, base+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, `herald_subscriptions{transport="sse"} 2`) {
		t.Fatalf("bridge metrics: %d, no SSE subscriptions gauge of 2", code)
	}
	// Both browsers read one upstream stream: the second resumed from the
	// messages the bridge's shared stream keeps.
	code, body = get(t, hc, baseURL(up)+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, `herald_subscriptions{transport="grpc"} 1`) {
		t.Fatalf("upstream metrics: %d, no gRPC subscriptions gauge of 1", code)
	}
	code, body = get(t, hc, base+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, `herald_upstream_streams{kind="shared"} 1`) ||
		!strings.Contains(body, `herald_upstream_streams{kind="catch_up"} 0`) {
		t.Fatalf("bridge metrics: %d, no upstream streams gauges of 1 shared and 0 catching up", code)
	}
	if code, _ := get(t, hc, base+"/"); code != http.StatusOK {
		t.Fatalf("GET / on the bridge: %d", code)
	}
}

func TestBridgeEndsStreamsWhenTheUpstreamGoes(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	up, err := app.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	b := startBridge(t, up.GRPCAddr().String())
	base := "http://" + b.HTTPAddr().String()
	hc := httpClient(t)
	s := openSSE(t, hc, base+"/v1/sse?topic=news", nil)
	s.next(t)
	last := publishHTTP(t, hc, base, "news", "before")
	s.next(t)

	sctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := up.Shutdown(sctx); err != nil {
		t.Fatal(err)
	}
	rest := s.rest(t)
	if len(rest) == 0 || !strings.Contains(rest[len(rest)-1].data, `"going_away"`) {
		t.Fatalf("the bridge's stream ended with %+v, want going_away", rest)
	}
	waitFor(t, 20*time.Second, "the bridge to report not ready", func() bool {
		code, _ := get(t, hc, base+"/readyz")
		return code == http.StatusServiceUnavailable
	})
	code, body := get(t, hc, base+"/v1/sse?topic=news")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, `"code":14`) {
		t.Fatalf("subscribing without an upstream: %d %s", code, body)
	}

	// The upstream comes back (a new history): the bridge serves again and
	// the browser resumes into the new epoch.
	cfg.GRPCAddr, cfg.HTTPAddr = up.GRPCAddr().String(), up.HTTPAddr().String()
	startNode(t, cfg)
	waitFor(t, 20*time.Second, "the bridge to be ready again", func() bool {
		code, _ := get(t, hc, base+"/readyz")
		return code == http.StatusOK
	})
	// Browsers resuming from the same id share one catch-up stream.
	var resumed []*sseStream
	for range 2 {
		s = openSSE(t, hc, base+"/v1/sse?topic=news", http.Header{"Last-Event-Id": {last}})
		s.next(t)
		if ev := s.next(t); ev.event != "herald.gap" || !strings.Contains(ev.data, "REASON_EPOCH_CHANGED") {
			t.Fatalf("got %+v, want an epoch-changed gap", ev)
		}
		resumed = append(resumed, s)
	}
	code, body = get(t, hc, base+"/metrics")
	if code != http.StatusOK || !strings.Contains(body, `herald_upstream_streams{kind="catch_up"} 1`) {
		t.Fatalf("bridge metrics: %d, no catch-up streams gauge of 1", code)
	}
	id := publishHTTP(t, hc, base, "news", "after the restart")
	for _, s := range resumed {
		if ev := s.next(t); ev.id != id {
			t.Fatalf("got %+v, want %s", ev, id)
		}
	}
}

func TestBridgeShutdownSendsGoingAway(t *testing.T) {
	t.Parallel()
	up := startNode(t, testConfig(t))
	b, err := app.StartBridge(t.Context(), app.BridgeConfig{Upstream: up.GRPCAddr().String(), HTTPAddr: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	hc := httpClient(t)
	s := openSSE(t, hc, "http://"+b.HTTPAddr().String()+"/v1/sse?topic=t", nil)
	s.next(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := b.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	rest := s.rest(t)
	if len(rest) == 0 || !strings.Contains(rest[len(rest)-1].data, `"going_away"`) {
		t.Fatalf("stream ended with %+v, want going_away", rest)
	}
}

func TestStartBridgeRefusesBadConfig(t *testing.T) {
	t.Parallel()
	for _, cfg := range []app.BridgeConfig{
		{},
		{Upstream: "localhost:9090", QueueLen: -1},
		{Upstream: "localhost:9090", Browser: app.BrowserConfig{WriteTimeout: -time.Second}},
		{Upstream: "localhost:9090", Browser: app.BrowserConfig{CoalesceWindow: 2 * time.Second}},
	} {
		if _, err := app.StartBridge(t.Context(), cfg); !errors.Is(err, app.ErrInvalidConfig) {
			t.Errorf("StartBridge(%+v) = %v, want ErrInvalidConfig", cfg, err)
		}
	}
}
