package bridge

import (
	"context"
	"github.com/heraldhq/herald/internal/testutil"
	"net"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/metrics"
	"github.com/heraldhq/herald/server"
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}

// testTimeout bounds every wait of a test: generous, because a busy
// two-core machine runs the race detector over several packages at once.
const testTimeout = 20 * time.Second

// testContext is the test's context bounded by testTimeout.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// waitFor polls cond until it holds or timeout passes.
var waitFor = testutil.WaitFor

// upstream is a Herald gRPC server on a memory engine on loopback TCP.
type upstream struct {
	eng     *memory.Engine
	srv     *server.Server
	addr    string
	metrics *metrics.Metrics
	served  chan error
	stopped bool
}

// startUpstream starts a Herald server; it stops when the test ends.
func startUpstream(t testing.TB, cfg server.Config, opts memory.Options) *upstream {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Metrics = metrics.New()
	u := &upstream{eng: memory.New(opts), addr: lis.Addr().String(), metrics: cfg.Metrics, served: make(chan error, 1)}
	u.srv = server.New(u.eng, cfg)
	go func() { u.served <- u.srv.Serve(lis) }()
	u.srv.SetServing()
	t.Cleanup(func() { u.stop(t) })
	return u
}

// stop shuts the upstream down and closes its engine.
func (u *upstream) stop(t testing.TB) {
	if u.stopped {
		return
	}
	u.stopped = true
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	defer cancel()
	u.srv.Shutdown(ctx)
	if err := <-u.served; err != nil {
		t.Errorf("Serve: %v", err)
	}
	_ = u.eng.Close()
}

// publish publishes data to topic on the engine and returns its id.
func publish(t testing.TB, eng engine.Engine, topic, data string) engine.ID {
	t.Helper()
	res, err := eng.Publish(context.Background(), engine.PublishRequest{Topic: topic, Data: []byte(data)})
	if err != nil {
		t.Fatalf("Publish %s: %v", topic, err)
	}
	return res.ID
}

// dial returns a client connection to addr, closed when the test ends.
func dial(t testing.TB, addr string) *grpc.ClientConn {
	t.Helper()
	cc, err := grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// fakeUpstream is a gRPC server whose Subscribe does what a test says, for
// the upstream behaviours a real server shows only by chance.
type fakeUpstream struct {
	heraldv1.UnimplementedPubSubServiceServer
	subscribe func(*heraldv1.SubscribeRequest, grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error
}

func (f *fakeUpstream) Subscribe(req *heraldv1.SubscribeRequest, st grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error {
	return f.subscribe(req, st)
}

// startFake serves subscribe on loopback TCP until the test ends and
// returns the address.
func startFake(t testing.TB, subscribe func(*heraldv1.SubscribeRequest, grpc.ServerStreamingServer[heraldv1.SubscribeResponse]) error) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	heraldv1.RegisterPubSubServiceServer(gs, &fakeUpstream{subscribe: subscribe})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(lis)
	}()
	t.Cleanup(func() {
		gs.Stop()
		<-done
	})
	return lis.Addr().String()
}

// subscribedFrame is the confirmation a fake upstream sends first.
func subscribedFrame(topics []string, current string) *heraldv1.SubscribeResponse {
	return &heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Subscribed{
		Subscribed: &heraldv1.Subscribed{Topics: topics, CurrentId: current},
	}}
}

// nextEvents calls Next with the test's deadline and fails on error.
func nextEvents(t testing.TB, sub Subscription) []engine.Event {
	t.Helper()
	evs, err := sub.Next(testContext(t), nil)
	if err != nil {
		t.Fatalf("Next: %v", err)
	}
	return evs
}

// collect reads events until it has n of them.
func collect(t testing.TB, sub Subscription, n int) []engine.Event {
	t.Helper()
	var evs []engine.Event
	for len(evs) < n {
		evs = append(evs, nextEvents(t, sub)...)
	}
	if len(evs) != n {
		t.Fatalf("got %d events, want %d", len(evs), n)
	}
	return evs
}

// nextError calls Next until it fails and returns the error.
func nextError(t testing.TB, sub Subscription) error {
	t.Helper()
	ctx := testContext(t)
	for {
		if _, err := sub.Next(ctx, nil); err != nil {
			return err
		}
	}
}

// wantCode fails unless err is a status error with code and a message that
// contains msg.
func wantCode(t testing.TB, err error, code codes.Code, msg string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code || !strings.Contains(st.Message(), msg) {
		t.Fatalf("got %v, want %v containing %q", err, code, msg)
	}
}
