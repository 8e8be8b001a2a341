package app_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/app"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

func TestGRPCPublishSubscribe(t *testing.T) {
	t.Parallel()
	n := startNode(t, testConfig(t))
	conn := dial(t, n.GRPCAddr().String())
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	st := subscribeGRPC(t, ctx, conn, &heraldv1.SubscribeRequest{Topics: []string{"orders.*"}})
	res, err := heraldv1.NewPubSubServiceClient(conn).Publish(ctx, &heraldv1.PublishRequest{
		Topic: "orders.created", Data: []byte(`{"id":1}`), ContentType: "application/json", Event: "created",
	})
	if err != nil {
		t.Fatal(err)
	}
	m := recv(t, st).GetMessage()
	if m.GetId() != res.GetId() || m.GetTopic() != "orders.created" || string(m.GetData()) != `{"id":1}` ||
		m.GetContentType() != "application/json" || m.GetEvent() != "created" {
		t.Fatalf("received %v, published %v", m, res)
	}

	// An idle stream gets heartbeats at the configured interval.
	for {
		resp, err := st.Recv()
		if err != nil {
			t.Fatalf("waiting for a heartbeat: %v", err)
		}
		if resp.GetHeartbeat() != nil {
			break
		}
	}
}

func TestHTTPPublishAndSubscribe(t *testing.T) {
	t.Parallel()
	n := startNode(t, testConfig(t))
	conn := dial(t, n.GRPCAddr().String())
	hc := httpClient(t)
	base := baseURL(n)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()

	hs := subscribeHTTP(t, ctx, hc, base, "topics=news&topics=chat.>")
	gs := subscribeGRPC(t, ctx, conn, &heraldv1.SubscribeRequest{Topics: []string{"news"}})

	// POST /v1/publish: protojson, data in base64.
	code, body := post(t, hc, base+"/v1/publish", "application/json",
		`{"topic":"news","data":"`+base64.StdEncoding.EncodeToString([]byte("hello"))+`","content_type":"text/plain"}`)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/publish: %d %s", code, body)
	}
	var pub struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal([]byte(body), &pub); err != nil || pub.ID == "" {
		t.Fatalf("publish answer %q: %v", body, err)
	}
	f := hs.next(t)
	if f.Result == nil || f.Result.Message == nil {
		t.Fatalf("line %+v, want a message", f)
	}
	if m := f.Result.Message; m.ID != pub.ID || m.Topic != "news" || string(m.Data) != "hello" || m.ContentType != "text/plain" {
		t.Fatalf("HTTP subscriber got %+v, want id %s", m, pub.ID)
	}
	if m := recv(t, gs).GetMessage(); m.GetId() != pub.ID || string(m.GetData()) != "hello" {
		t.Fatalf("gRPC subscriber got %v", m)
	}

	// POST /v1/topics/{topic}: the raw body, with its content type.
	code, body = post(t, hc, base+"/v1/topics/chat.room1", "application/json", `{"x":1}`)
	if code != http.StatusOK {
		t.Fatalf("POST /v1/topics/chat.room1: %d %s", code, body)
	}
	f = hs.next(t)
	if m := f.Result.Message; m == nil || m.Topic != "chat.room1" || string(m.Data) != `{"x":1}` || m.ContentType != "application/json" {
		t.Fatalf("HTTP subscriber got %+v", f)
	}

	// A refusal is a clear HTTP error.
	if code, body := post(t, hc, base+"/v1/topics/bad%20topic", "text/plain", "x"); code != http.StatusBadRequest {
		t.Fatalf("bad topic: %d %s", code, body)
	}
}

func TestLargeMessagesCrossTheInProcessConnection(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.MaxMessageSize = 5 << 20 // beyond gRPC's default 4 MiB receive limit
	n := startNode(t, cfg)
	hc := httpClient(t)
	base := baseURL(n)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()

	hs := subscribeHTTP(t, ctx, hc, base, "topics=big")
	payload := strings.Repeat("x", 4<<20+512<<10)
	if code, body := post(t, hc, base+"/v1/topics/big", "text/plain", payload); code != http.StatusOK {
		t.Fatalf("POST 4.5 MiB: %d %s", code, body)
	}
	f := hs.next(t)
	if f.Result == nil || f.Result.Message == nil || len(f.Result.Message.Data) != len(payload) {
		t.Fatalf("HTTP subscriber did not get the 4.5 MiB message: %+v", f.Error)
	}
	if code, _ := post(t, hc, base+"/v1/topics/big", "text/plain", strings.Repeat("y", 5<<20+1)); code != http.StatusRequestEntityTooLarge {
		t.Fatalf("POST 5 MiB + 1: %d, want 413", code)
	}
}

func TestHealthReadinessAndMetrics(t *testing.T) {
	t.Parallel()
	n := startNode(t, testConfig(t))
	conn := dial(t, n.GRPCAddr().String())
	hc := httpClient(t)
	base := baseURL(n)
	ctx := t.Context()

	if code, body := get(t, hc, base+"/healthz"); code != http.StatusOK {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	if code, body := get(t, hc, base+"/readyz"); code != http.StatusOK || !strings.Contains(body, "ready") {
		t.Fatalf("/readyz: %d %s", code, body)
	}
	for _, svc := range []string{"", "herald.v1.PubSubService"} {
		res, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
		if err != nil || res.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Fatalf("gRPC health %q: %v %v", svc, res, err)
		}
	}

	// One set of metrics for the node: publishes over gRPC and over HTTP
	// show up on the same /metrics.
	if _, err := heraldv1.NewPubSubServiceClient(conn).Publish(ctx, &heraldv1.PublishRequest{Topic: "m"}); err != nil {
		t.Fatal(err)
	}
	if code, body := post(t, hc, base+"/v1/topics/m", "text/plain", "x"); code != http.StatusOK {
		t.Fatalf("raw publish: %d %s", code, body)
	}
	code, body := get(t, hc, base+"/metrics")
	if code != http.StatusOK {
		t.Fatalf("/metrics: %d", code)
	}
	for _, want := range []string{
		`herald_messages_published_total{transport="grpc"} 1`,
		`herald_messages_published_total{transport="gateway"} 1`,
		"go_goroutines",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}

func TestShutdownEndsStreamsWithUnavailable(t *testing.T) {
	t.Parallel()
	n, err := app.Start(t.Context(), testConfig(t))
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, n.GRPCAddr().String())
	hc := httpClient(t)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	gs := subscribeGRPC(t, ctx, conn, &heraldv1.SubscribeRequest{Topics: []string{"t"}})
	hs := subscribeHTTP(t, ctx, hc, baseURL(n), "topics=t")

	sctx, scancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer scancel()
	if err := n.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for {
		resp, err := gs.Recv()
		if err != nil {
			if status.Code(err) != codes.Unavailable {
				t.Fatalf("gRPC stream ended with %v, want Unavailable", err)
			}
			break
		}
		if resp.GetHeartbeat() == nil {
			t.Fatalf("unexpected frame %v", resp)
		}
	}
	if f := hs.next(t); f.Error == nil || f.Error.Code != int(codes.Unavailable) {
		t.Fatalf("HTTP stream ended with %+v, want an Unavailable error line", f)
	}
	if err := n.Shutdown(sctx); err != nil {
		t.Fatalf("second Shutdown: %v", err)
	}
	_, err = heraldv1.NewPubSubServiceClient(conn).Publish(ctx, &heraldv1.PublishRequest{Topic: "t"})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("publish after shutdown: %v, want Unavailable", err)
	}
}

func TestShutdownIsNotReadyAtOnceAndBounded(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.ShutdownTimeout = time.Hour // only Shutdown's context bounds it
	n, err := app.Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	conn := dial(t, n.GRPCAddr().String())
	hc := httpClient(t)
	base := baseURL(n)

	// A reflection stream never ends by itself, so the graceful stop
	// waits for it until Shutdown's context ends.
	rs, err := reflectionpb.NewServerReflectionClient(conn).ServerReflectionInfo(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := rs.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	list, err := rs.Recv()
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, s := range list.GetListServicesResponse().GetService() {
		found = found || s.GetName() == "herald.v1.PubSubService"
	}
	if !found {
		t.Fatalf("reflection lists %v, want herald.v1.PubSubService", list.GetListServicesResponse())
	}

	// Shutdown waits for the held stream until its context ends.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- n.Shutdown(ctx) }()
	waitFor(t, 20*time.Second, "/readyz to answer 503 during shutdown", func() bool {
		code, _ := get(t, hc, base+"/readyz")
		return code == http.StatusServiceUnavailable
	})
	select {
	case err := <-done:
		t.Fatalf("Shutdown returned (%v) while a stream was held and its context alive", err)
	default:
	}
	cancel()
	select {
	case err := <-done:
		if err != nil && !errors.Is(err, context.Canceled) {
			t.Fatalf("Shutdown: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Shutdown did not return after its context ended")
	}
	if _, err := rs.Recv(); status.Code(err) != codes.Unavailable {
		t.Fatalf("held stream after shutdown: %v, want Unavailable", err)
	}
}

func TestStartRefusesBadConfig(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.HistorySize = -1
	if _, err := app.Start(t.Context(), cfg); !errors.Is(err, app.ErrInvalidConfig) {
		t.Fatalf("negative history size: %v, want ErrInvalidConfig", err)
	}
	cfg = testConfig(t)
	cfg.Keepalive.Time = -time.Second
	if _, err := app.Start(t.Context(), cfg); !errors.Is(err, app.ErrInvalidConfig) {
		t.Fatalf("negative keepalive time: %v, want ErrInvalidConfig", err)
	}
	cfg = testConfig(t)
	cfg.Browser.CoalesceWindow = 2 * time.Second // over bridge.MaxCoalesceWindow
	if _, err := app.Start(t.Context(), cfg); !errors.Is(err, app.ErrInvalidConfig) {
		t.Fatalf("a coalesce window of 2s: %v, want ErrInvalidConfig", err)
	}
}

func TestStartFailsOnBusyAddressAndReleasesEverything(t *testing.T) {
	t.Parallel()
	n := startNode(t, testConfig(t))
	cfg := testConfig(t)
	cfg.HTTPAddr = n.HTTPAddr().String()
	_, err := app.Start(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "HTTP address") {
		t.Fatalf("Start on a busy HTTP address: %v", err)
	}
	// The gRPC address it had taken is free again.
	cfg = testConfig(t)
	cfg.GRPCAddr = n.GRPCAddr().String()
	if _, err := app.Start(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "gRPC address") {
		t.Fatalf("Start on a busy gRPC address: %v", err)
	}
}
