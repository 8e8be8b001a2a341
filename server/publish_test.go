package server

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/metrics"
)

func TestPublishSubscribe(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)

	before := publish(ctx, t, c, "other", "x")
	st, sub := subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"orders.created"}})
	if got := sub.GetTopics(); len(got) != 1 || got[0] != "orders.created" {
		t.Errorf("subscribed topics = %q", got)
	}
	if sub.GetCurrentId() != before.GetId() {
		t.Errorf("current_id = %q, want the newest id %q", sub.GetCurrentId(), before.GetId())
	}
	if got := sub.GetHeartbeatInterval().AsDuration(); got != time.Hour {
		t.Errorf("heartbeat_interval = %v, want 1h", got)
	}

	start := time.Now()
	res, err := c.Publish(ctx, &heraldv1.PublishRequest{
		Topic:          "orders.created",
		Data:           []byte(`{"id":7}`),
		ContentType:    "application/json",
		Event:          "order:created",
		IdempotencyKey: "order 7",
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.GetId() == "" || res.GetDuplicate() {
		t.Fatalf("publish response %v", res)
	}
	if pt := res.GetPublishTime().AsTime(); pt.Before(start.Add(-time.Minute)) || pt.After(time.Now().Add(time.Minute)) {
		t.Errorf("publish_time %v is not about now", pt)
	}

	m := recvMessage(t, st)
	if m.GetTopic() != "orders.created" || m.GetId() != res.GetId() || string(m.GetData()) != `{"id":7}` ||
		m.GetContentType() != "application/json" || m.GetEvent() != "order:created" ||
		!m.GetPublishTime().AsTime().Equal(res.GetPublishTime().AsTime()) {
		t.Errorf("received %v, want the published message with id %s", m, res.GetId())
	}

	// A retry with the same idempotency key returns the first position and
	// delivers nothing: the next message the stream sees is a new one.
	dup, err := c.Publish(ctx, &heraldv1.PublishRequest{Topic: "orders.created", Data: []byte("again"), IdempotencyKey: "order 7"})
	if err != nil {
		t.Fatal(err)
	}
	if !dup.GetDuplicate() || dup.GetId() != res.GetId() {
		t.Errorf("duplicate publish returned %v, want duplicate of %s", dup, res.GetId())
	}
	next := publish(ctx, t, c, "orders.created", "next")
	if m := recvMessage(t, st); m.GetId() != next.GetId() {
		t.Errorf("after a duplicate received %v, want %s", m, next.GetId())
	}

	grpcM := e.met.Transport(metrics.TransportGRPC)
	if got := value(t, grpcM.Published); got != 3 {
		t.Errorf("published = %v, want 3 (duplicates not counted)", got)
	}
	if got := value(t, grpcM.Delivered); got != 2 {
		t.Errorf("delivered = %v, want 2", got)
	}
	if got := latencyCount(t, e.met, metrics.TransportGRPC); got != 2 {
		t.Errorf("latency observations = %v, want 2", got)
	}
	if got := value(t, grpcM.Subscriptions); got != 1 {
		t.Errorf("subscriptions gauge = %v, want 1", got)
	}
}

func TestPublishValidation(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxMessageSize: 1024}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)

	long := strings.Repeat("a", 256)
	tests := []struct {
		name string
		req  *heraldv1.PublishRequest
		code codes.Code
		msg  string
	}{
		{"empty topic", &heraldv1.PublishRequest{}, codes.InvalidArgument, "topic is empty"},
		{"empty token", &heraldv1.PublishRequest{Topic: "a..b"}, codes.InvalidArgument, `topic "a..b" has an empty token`},
		{"wildcard", &heraldv1.PublishRequest{Topic: "a.*"}, codes.InvalidArgument, "wildcards are allowed only when subscribing"},
		{"bad character", &heraldv1.PublishRequest{Topic: "a b"}, codes.InvalidArgument, "is not allowed"},
		{"long topic", &heraldv1.PublishRequest{Topic: long}, codes.InvalidArgument, "the limit is 255"},
		{"too large", &heraldv1.PublishRequest{Topic: "t", Data: make([]byte, 1025)}, codes.ResourceExhausted, "message is 1025 bytes; the limit is 1024"},
		{"content type control", &heraldv1.PublishRequest{Topic: "t", ContentType: "text/plain\r\nX: y"}, codes.InvalidArgument, "content_type"},
		{"content type C1 control", &heraldv1.PublishRequest{Topic: "t", ContentType: "text/\u0085plain"}, codes.InvalidArgument, "content_type"},
		{"content type long", &heraldv1.PublishRequest{Topic: "t", ContentType: long}, codes.InvalidArgument, "content_type is 256 bytes; the limit is 255"},
		{"event newline", &heraldv1.PublishRequest{Topic: "t", Event: "ping\ndata: x"}, codes.InvalidArgument, "event"},
		{"event space", &heraldv1.PublishRequest{Topic: "t", Event: "a b"}, codes.InvalidArgument, "event"},
		{"event long", &heraldv1.PublishRequest{Topic: "t", Event: long}, codes.InvalidArgument, "event is 256 bytes"},
		{"event reserved", &heraldv1.PublishRequest{Topic: "t", Event: "herald.subscribed"}, codes.InvalidArgument, "reserved"},
		{"key non-ascii", &heraldv1.PublishRequest{Topic: "t", IdempotencyKey: "clé"}, codes.InvalidArgument, "idempotency_key"},
		{"key control", &heraldv1.PublishRequest{Topic: "t", IdempotencyKey: "a\tb"}, codes.InvalidArgument, "idempotency_key"},
		{"key long", &heraldv1.PublishRequest{Topic: "t", IdempotencyKey: long}, codes.InvalidArgument, "idempotency_key is 256 bytes"},
	}
	for _, tt := range tests {
		_, err := c.Publish(ctx, tt.req)
		if err == nil {
			t.Errorf("%s: publish succeeded", tt.name)
			continue
		}
		wantStatus(t, err, tt.code, tt.msg)
	}

	// At the limits everything is accepted.
	ok := &heraldv1.PublishRequest{
		Topic:          strings.Repeat("b", 255),
		Data:           make([]byte, 1024),
		ContentType:    "application/json; p=" + strings.Repeat("é", (255-len("application/json; p="))/2),
		Event:          "A-Z_a.z:09",
		IdempotencyKey: strings.Repeat("~ ", 127) + "!",
	}
	if _, err := c.Publish(ctx, ok); err != nil {
		t.Fatalf("publish at the limits: %v", err)
	}

	grpcM := e.met.Transport(metrics.TransportGRPC)
	if got := value(t, e.met.Refused.WithLabelValues(metrics.TransportGRPC, reasonInvalid)); got != float64(len(tests)-1) {
		t.Errorf("refused invalid_argument = %v, want %d", got, len(tests)-1)
	}
	if got := value(t, e.met.Refused.WithLabelValues(metrics.TransportGRPC, reasonTooLarge)); got != 1 {
		t.Errorf("refused too_large = %v, want 1", got)
	}
	if got := value(t, grpcM.Published); got != 1 {
		t.Errorf("published = %v, want 1", got)
	}
}

// A payload past the envelope room never reaches the handler: gRPC refuses
// it by its own limit, still with RESOURCE_EXHAUSTED.
func TestPublishBeyondReceiveLimit(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{MaxMessageSize: 1024}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)

	_, err := c.Publish(ctx, &heraldv1.PublishRequest{Topic: "t", Data: make([]byte, 1024+EnvelopeRoom)})
	wantStatus(t, err, codes.ResourceExhausted, "")
	if strings.Contains(err.Error(), "the limit is 1024") {
		t.Errorf("error %v came from the handler, want gRPC's own limit", err)
	}
	// The last size the handler sees gets the clear message.
	_, err = c.Publish(ctx, &heraldv1.PublishRequest{Topic: "t", Data: make([]byte, 1024+EnvelopeRoom-100)})
	wantStatus(t, err, codes.ResourceExhausted, "bytes; the limit is 1024")
}

// Calls marked by the HTTP gateway are counted under the gateway transport.
func TestGatewayTransportLabel(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{HeartbeatInterval: time.Hour}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)
	gwCtx := metadata.AppendToOutgoingContext(ctx, TransportHeader, metrics.TransportGateway)

	st, _ := subscribe(gwCtx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"t"}})
	publish(gwCtx, t, c, "t", "via gateway")
	publish(ctx, t, c, "t", "direct")
	recvMessage(t, st)
	recvMessage(t, st)
	_, err := c.Publish(gwCtx, &heraldv1.PublishRequest{Topic: "bad topic"})
	wantStatus(t, err, codes.InvalidArgument, "")

	gw := e.met.Transport(metrics.TransportGateway)
	direct := e.met.Transport(metrics.TransportGRPC)
	checks := []struct {
		name string
		got  float64
		want float64
	}{
		{"gateway published", value(t, gw.Published), 1},
		{"grpc published", value(t, direct.Published), 1},
		{"gateway delivered", value(t, gw.Delivered), 2},
		{"grpc delivered", value(t, direct.Delivered), 0},
		{"gateway subscriptions", value(t, gw.Subscriptions), 1},
		{"grpc subscriptions", value(t, direct.Subscriptions), 0},
		{"gateway refused", value(t, e.met.Refused.WithLabelValues(metrics.TransportGateway, reasonInvalid)), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
}

// panicEngine panics on every call, to exercise the recovery interceptors.
type panicEngine struct{ engine.Engine }

func (panicEngine) Publish(context.Context, engine.PublishRequest) (engine.PublishResult, error) {
	panic("engine exploded: secret detail")
}

func (panicEngine) Subscribe(context.Context, engine.SubscribeRequest) (engine.Subscription, error) {
	panic("engine exploded: secret detail")
}

func TestRecoverPanics(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	e := newEnvWith(t, panicEngine{memory.New(memory.Options{})}, Config{Logger: logs.logger()})
	ctx := testContext(t)
	c := e.client(t)

	_, err := c.Publish(ctx, &heraldv1.PublishRequest{Topic: "t"})
	wantStatus(t, err, codes.Internal, msgInternal)
	if strings.Contains(err.Error(), "secret") {
		t.Errorf("panic text reached the client: %v", err)
	}

	st, err := c.Subscribe(ctx, &heraldv1.SubscribeRequest{Topics: []string{"t"}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Recv()
	wantStatus(t, err, codes.Internal, msgInternal)

	// The server still serves, and the logs hold the panic with its stack.
	_, err = c.Publish(ctx, &heraldv1.PublishRequest{Topic: "bad topic"})
	wantStatus(t, err, codes.InvalidArgument, "")
	out := logs.String()
	for _, want := range []string{"panic in grpc handler", "engine exploded", "recoverUnary", "recoverStream", "code=Internal"} {
		if !strings.Contains(out, want) {
			t.Errorf("logs lack %q:\n%s", want, out)
		}
	}
}

// The request log carries method, code, duration and peer.
func TestRequestLog(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	e := newEnv(t, Config{Logger: logs.logger()}, memory.Options{})
	ctx := testContext(t)
	c := e.client(t)
	publish(ctx, t, c, "t", "x")
	waitFor(t, testTimeout, "the publish log line", func() bool {
		return strings.Contains(logs.String(), "Publish")
	})
	line := ""
	for _, l := range strings.Split(logs.String(), "\n") {
		if strings.Contains(l, "/herald.v1.PubSubService/Publish") {
			line = l
		}
	}
	for _, want := range []string{"level=DEBUG", "msg=\"grpc call\"", "code=OK", "duration=", "peer=127.0.0.1:"} {
		if !strings.Contains(line, want) {
			t.Errorf("log line %q lacks %q", line, want)
		}
	}
	if bytes.Contains([]byte(line), []byte("message=")) {
		t.Errorf("successful call logged an error message: %q", line)
	}
}
