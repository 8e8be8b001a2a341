package server

import (
	"bytes"
	"context"
	"github.com/heraldhq/herald/internal/testutil"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/metrics"
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}

// testTimeout bounds every wait of a test: generous, because a busy
// two-core machine runs the race detector over several packages at once.
const testTimeout = 20 * time.Second

// testEnv is a Server on a memory engine listening on loopback TCP.
type testEnv struct {
	srv  *Server
	eng  engine.Engine
	met  *metrics.Metrics
	addr string
	// served receives Serve's return value.
	served chan error
}

// newEnv starts a server on a fresh memory engine; both are stopped when
// the test ends.
func newEnv(t testing.TB, cfg Config, opts memory.Options) *testEnv {
	t.Helper()
	return newEnvWith(t, memory.New(opts), cfg)
}

// newEnvWith starts a server on eng and closes eng when the test ends.
func newEnvWith(t testing.TB, eng engine.Engine, cfg Config) *testEnv {
	t.Helper()
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{
		srv:    New(eng, cfg),
		eng:    eng,
		met:    cfg.Metrics,
		addr:   lis.Addr().String(),
		served: make(chan error, 1),
	}
	go func() { e.served <- e.srv.Serve(lis) }()
	e.srv.SetServing()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		e.srv.Shutdown(ctx)
		if err := <-e.served; err != nil {
			t.Errorf("Serve returned %v", err)
		}
		_ = eng.Close()
	})
	return e
}

// conn dials the server; the connection closes when the test ends (before
// the server stops).
func (e *testEnv) conn(t testing.TB, opts ...grpc.DialOption) *grpc.ClientConn {
	t.Helper()
	opts = append([]grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}, opts...)
	cc, err := grpc.NewClient("passthrough:///"+e.addr, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cc.Close() })
	return cc
}

// client returns a PubSubService client on a new connection.
func (e *testEnv) client(t testing.TB, opts ...grpc.DialOption) heraldv1.PubSubServiceClient {
	t.Helper()
	return heraldv1.NewPubSubServiceClient(e.conn(t, opts...))
}

// testContext is the test's context bounded by testTimeout.
func testContext(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

type subStream = grpc.ServerStreamingClient[heraldv1.SubscribeResponse]

// subscribe starts a Subscribe stream and returns it with its first frame,
// which must be the subscribed frame.
func subscribe(ctx context.Context, t testing.TB, c heraldv1.PubSubServiceClient, req *heraldv1.SubscribeRequest) (subStream, *heraldv1.Subscribed) {
	t.Helper()
	st, err := c.Subscribe(ctx, req)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	f, err := st.Recv()
	if err != nil {
		t.Fatalf("Subscribe %v: first Recv: %v", req.GetTopics(), err)
	}
	sub := f.GetSubscribed()
	if sub == nil {
		t.Fatalf("first frame is %v, want subscribed", f)
	}
	return st, sub
}

// recvFrame returns the next frame that is not a heartbeat.
func recvFrame(t testing.TB, st subStream) *heraldv1.SubscribeResponse {
	t.Helper()
	for {
		f, err := st.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if f.GetHeartbeat() == nil {
			return f
		}
	}
}

// recvMessage returns the next frame, which must be a message.
func recvMessage(t testing.TB, st subStream) *heraldv1.Message {
	t.Helper()
	f := recvFrame(t, st)
	if f.GetMessage() == nil {
		t.Fatalf("got frame %v, want a message", f)
	}
	return f.GetMessage()
}

// publish publishes data to topic and returns the response.
func publish(ctx context.Context, t testing.TB, c heraldv1.PubSubServiceClient, topic, data string) *heraldv1.PublishResponse {
	t.Helper()
	res, err := c.Publish(ctx, &heraldv1.PublishRequest{Topic: topic, Data: []byte(data)})
	if err != nil {
		t.Fatalf("Publish %s: %v", topic, err)
	}
	return res
}

// wantStatus fails unless err is a status with code whose message
// contains msg.
func wantStatus(t testing.TB, err error, code codes.Code, msg string) {
	t.Helper()
	st, ok := status.FromError(err)
	if !ok || st.Code() != code || !bytes.Contains([]byte(st.Message()), []byte(msg)) {
		t.Fatalf("got error %v, want %v containing %q", err, code, msg)
	}
}

// recvUntilError reads frames until the stream fails and returns the
// messages read and the error.
func recvUntilError(st subStream) ([]*heraldv1.Message, error) {
	var msgs []*heraldv1.Message
	for {
		f, err := st.Recv()
		if err != nil {
			return msgs, err
		}
		if m := f.GetMessage(); m != nil {
			msgs = append(msgs, m)
		}
	}
}

// waitFor polls cond until it holds or timeout passes.
var waitFor = testutil.WaitFor

// value reads a counter, gauge or histogram count.
var value = testutil.MetricValue

// latencyCount is the number of latency observations of a transport.
func latencyCount(t testing.TB, met *metrics.Metrics, transport string) float64 {
	t.Helper()
	return value(t, met.Latency.WithLabelValues(transport).(prometheus.Metric))
}

// logBuffer collects output written from several goroutines.
type logBuffer struct{ testutil.Buffer }

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}
