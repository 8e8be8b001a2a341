package server

import (
	"context"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthgrpc "google.golang.org/grpc/health/grpc_health_v1"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"

	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/metrics"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	eng := memory.New(memory.Options{})
	defer eng.Close()
	srv := New(eng, Config{})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	e := &testEnv{srv: srv, addr: lis.Addr().String()}
	ctx := testContext(t)
	hc := healthgrpc.NewHealthClient(e.conn(t))

	check := func(service string) healthgrpc.HealthCheckResponse_ServingStatus {
		t.Helper()
		res, err := hc.Check(ctx, &healthgrpc.HealthCheckRequest{Service: service})
		if err != nil {
			t.Fatalf("Check(%q): %v", service, err)
		}
		return res.GetStatus()
	}
	for _, svc := range []string{"", serviceName} {
		if got := check(svc); got != healthgrpc.HealthCheckResponse_NOT_SERVING {
			t.Errorf("before SetServing %q is %v, want NOT_SERVING", svc, got)
		}
	}
	watch, err := hc.Watch(ctx, &healthgrpc.HealthCheckRequest{Service: serviceName})
	if err != nil {
		t.Fatal(err)
	}
	nextWatch := func() healthgrpc.HealthCheckResponse_ServingStatus {
		t.Helper()
		res, err := watch.Recv()
		if err != nil {
			t.Fatalf("Watch: %v", err)
		}
		return res.GetStatus()
	}
	if got := nextWatch(); got != healthgrpc.HealthCheckResponse_NOT_SERVING {
		t.Errorf("watch starts with %v, want NOT_SERVING", got)
	}

	srv.SetServing()
	for _, svc := range []string{"", serviceName} {
		if got := check(svc); got != healthgrpc.HealthCheckResponse_SERVING {
			t.Errorf("after SetServing %q is %v, want SERVING", svc, got)
		}
	}
	if got := nextWatch(); got != healthgrpc.HealthCheckResponse_SERVING {
		t.Errorf("watch saw %v, want SERVING", got)
	}

	// Shutdown flips the status, ends the watch and returns well before
	// its timeout although the watch stream was open.
	start := time.Now()
	srv.Shutdown(ctx)
	if d := time.Since(start); d > DefaultShutdownTimeout/2 {
		t.Errorf("Shutdown took %v with only a health watch open", d)
	}
	if got := nextWatch(); got != healthgrpc.HealthCheckResponse_NOT_SERVING {
		t.Errorf("watch saw %v on shutdown, want NOT_SERVING", got)
	}
	_, err = watch.Recv()
	wantStatus(t, err, codes.Unavailable, "shutting down")
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v", err)
	}
	srv.SetServing() // no effect any more, and no panic
}

// Reflection and health answer clients without a credential even when the
// Herald API requires one: grpcurl and load balancers have none.
func TestReflection(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{Auth: strictAuth(t)}, memory.Options{})
	ctx := testContext(t)
	res, err := healthgrpc.NewHealthClient(e.conn(t)).Check(ctx, &healthgrpc.HealthCheckRequest{Service: serviceName})
	if err != nil || res.GetStatus() != healthgrpc.HealthCheckResponse_SERVING {
		t.Errorf("health check without a credential: %v, %v; want SERVING", res, err)
	}
	rc := reflectionpb.NewServerReflectionClient(e.conn(t))
	st, err := rc.ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	list, err := st.Recv()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, s := range list.GetListServicesResponse().GetService() {
		names = append(names, s.GetName())
	}
	for _, want := range []string{serviceName, "grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection"} {
		if !slices.Contains(names, want) {
			t.Errorf("reflection lists %q, missing %s", names, want)
		}
	}
	_ = st.CloseSend()
}

func TestShutdown(t *testing.T) {
	t.Parallel()
	const bound = 300 * time.Millisecond
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	eng := memory.New(memory.Options{})
	defer eng.Close()
	srv := New(eng, Config{HeartbeatInterval: time.Hour, WriteTimeout: time.Hour, ShutdownTimeout: bound})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	srv.SetServing()
	e := &testEnv{srv: srv, addr: lis.Addr().String()}
	ctx := testContext(t)
	c := e.client(t)

	subs := make([]subStream, 3)
	for i := range subs {
		subs[i], _ = subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"t"}})
	}
	// A stream that does not end by itself: an open reflection stream
	// holds GracefulStop until the bound.
	refl, err := reflectionpb.NewServerReflectionClient(e.conn(t)).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := refl.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := refl.Recv(); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	srv.Shutdown(ctx)
	if d := time.Since(start); d < bound || d > bound+5*time.Second {
		t.Errorf("Shutdown took %v, want about the %v bound", d, bound)
	}
	for i, st := range subs {
		_, err := recvUntilError(st)
		wantStatus(t, err, codes.Unavailable, msgShuttingDown)
		if t.Failed() {
			t.Fatalf("subscriber %d", i)
		}
	}
	if _, err := refl.Recv(); err == nil {
		t.Error("reflection stream survived Shutdown")
	}
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v", err)
	}
	srv.Shutdown(ctx) // idempotent
	if _, err := c.Publish(ctx, &heraldv1.PublishRequest{Topic: "t"}); err == nil {
		t.Error("publish after Shutdown succeeded")
	}
	if got := value(t, metricsOf(srv).Subscriptions); got != 0 {
		t.Errorf("subscriptions gauge = %v after Shutdown", got)
	}
}

// Shutdown honours its context when it is shorter than ShutdownTimeout,
// and a subscriber whose send is blocked on flow control still ends.
func TestShutdownContextAndStalledSend(t *testing.T) {
	t.Parallel()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	eng := memory.New(memory.Options{})
	defer eng.Close()
	srv := New(eng, Config{HeartbeatInterval: time.Hour, WriteTimeout: time.Hour, ShutdownTimeout: time.Hour, QueueLen: 100000, QueueBytes: 1 << 30})
	served := make(chan error, 1)
	go func() { served <- srv.Serve(lis) }()
	e := &testEnv{srv: srv, addr: lis.Addr().String()}
	ctx := testContext(t)

	slow, _ := subscribe(ctx, t, e.client(t, grpc.WithInitialWindowSize(64<<10), grpc.WithInitialConnWindowSize(64<<10)),
		&heraldv1.SubscribeRequest{Topics: []string{"t"}})
	pub := e.client(t)
	payload := strings.Repeat("x", 16<<10)
	for range 50 {
		publish(ctx, t, pub, "t", payload)
	}
	refl, err := reflectionpb.NewServerReflectionClient(e.conn(t)).ServerReflectionInfo(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := refl.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := refl.Recv(); err != nil {
		t.Fatal(err)
	}

	sctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	srv.Shutdown(sctx)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Shutdown took %v with a 200ms context", d)
	}
	if err := <-served; err != nil {
		t.Errorf("Serve returned %v", err)
	}
	if _, err := recvUntilError(slow); err == nil {
		t.Error("stalled subscriber's stream did not fail")
	}
}

// metricsOf returns the gRPC instruments of a Server.
func metricsOf(s *Server) *metrics.Transport { return s.mGRPC }

func TestConnectionsGauge(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{}, memory.Options{})
	ctx := testContext(t)
	gauge := e.met.Transport(metrics.TransportGRPC).Connections

	cc1 := e.conn(t)
	cc2 := e.conn(t)
	for _, cc := range []*grpc.ClientConn{cc1, cc2} {
		publish(ctx, t, heraldv1.NewPubSubServiceClient(cc), "t", "x")
	}
	waitFor(t, testTimeout, "two connections", func() bool { return value(t, gauge) == 2 })
	_ = cc1.Close()
	waitFor(t, testTimeout, "one connection", func() bool { return value(t, gauge) == 1 })
	_ = cc2.Close()
	waitFor(t, testTimeout, "no connection", func() bool { return value(t, gauge) == 0 })
}
