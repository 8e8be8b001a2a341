package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"github.com/heraldhq/herald/internal/testutil"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/heraldhq/herald/gateway"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/metrics"
	"github.com/heraldhq/herald/server"
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}

// timeout bounds every wait in these tests: long enough for a busy machine,
// short enough to turn a hang into a failure.
const timeout = 20 * time.Second

// publishTime is the publish time the fake service answers with.
var publishTime = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

// received is one call as the fake service saw it.
type received struct {
	req proto.Message
	md  metadata.MD
}

// fakeService is a PubSubService whose answers each test chooses. It
// records every call it receives.
type fakeService struct {
	heraldv1.UnimplementedPubSubServiceServer

	publish   func(context.Context, *heraldv1.PublishRequest) (*heraldv1.PublishResponse, error)
	subscribe func(*heraldv1.SubscribeRequest, heraldv1.PubSubService_SubscribeServer) error
	// forget turns recording off, for fuzzing.
	forget bool

	mu    sync.Mutex
	calls []received
}

func (f *fakeService) record(ctx context.Context, req proto.Message) {
	if f.forget {
		return
	}
	md, _ := metadata.FromIncomingContext(ctx)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, received{req: req, md: md})
}

// received returns the calls seen so far.
func (f *fakeService) received() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.calls...)
}

func (f *fakeService) Publish(ctx context.Context, req *heraldv1.PublishRequest) (*heraldv1.PublishResponse, error) {
	f.record(ctx, req)
	if f.publish != nil {
		return f.publish(ctx, req)
	}
	return &heraldv1.PublishResponse{Id: "0000000000000042", PublishTime: timestamppb.New(publishTime)}, nil
}

func (f *fakeService) Subscribe(req *heraldv1.SubscribeRequest, stream heraldv1.PubSubService_SubscribeServer) error {
	f.record(stream.Context(), req)
	if f.subscribe != nil {
		return f.subscribe(req, stream)
	}
	return nil
}

// fixture is a gateway in front of a fake service (or Herald's own, then
// svc is nil), served over real HTTP.
type fixture struct {
	svc     *fakeService
	handler http.Handler
	url     string
	client  *http.Client
	metrics *metrics.Metrics
	// shutdown cancels the context the gateway was built with.
	shutdown context.CancelFunc
	// serverLog collects net/http's own complaints about the handler.
	serverLog *syncBuffer
}

// newFixture serves svc on a real gRPC server over bufconn and the gateway
// in front of it on a loopback HTTP server.
func newFixture(t testing.TB, svc *fakeService, cfg gateway.Config) *fixture {
	t.Helper()
	lis := bufconn.Listen(1 << 20)
	gs := grpc.NewServer()
	heraldv1.RegisterPubSubServiceServer(gs, svc)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(lis)
	}()
	f := startGateway(t, lis, cfg, func() {
		gs.Stop()
		<-served
	})
	f.svc = svc
	return f
}

// startGateway starts the gateway on a loopback HTTP server in front of the
// gRPC server listening on lis. When the test ends it stops the gateway,
// then calls stop, which must stop the gRPC server and wait for it.
func startGateway(t testing.TB, lis *bufconn.Listener, cfg gateway.Config, stop func()) *fixture {
	t.Helper()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, cancel := context.WithCancel(context.Background())
	h, err := gateway.New(ctx, conn, cfg)
	if err != nil {
		t.Fatalf("gateway.New: %v", err)
	}
	serverLog := new(syncBuffer)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = slog.NewLogLogger(slog.NewTextHandler(serverLog, nil), slog.LevelError)
	srv.Start()
	t.Cleanup(func() {
		cancel() // ends open subscribe streams, so that Close does not wait for them
		srv.Close()
		if err := conn.Close(); err != nil {
			t.Errorf("closing the gRPC connection: %v", err)
		}
		stop()
		if s := serverLog.String(); s != "" {
			t.Errorf("net/http logged: %s", s)
		}
	})
	return &fixture{handler: h, url: srv.URL, client: srv.Client(), metrics: cfg.Metrics, shutdown: cancel, serverLog: serverLog}
}

// do sends a request and returns the response with its body read.
func (f *fixture) do(t *testing.T, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(req.Context(), timeout)
	defer cancel()
	resp, err := f.client.Do(req.WithContext(ctx))
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("reading the body of %s %s: %v", req.Method, req.URL, err)
	}
	return resp, body
}

// request builds a request to the fixture; body may be nil.
func (f *fixture) request(t *testing.T, method, path string, body io.Reader, header map[string]string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, f.url+path, body)
	if err != nil {
		t.Fatalf("NewRequest: %v", err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	return req
}

// refused returns the gateway's refused-requests counter for reason.
func (f *fixture) refused(t *testing.T, reason string) float64 {
	t.Helper()
	var m dto.Metric
	if err := f.metrics.Refused.WithLabelValues(metrics.TransportGateway, reason).Write(&m); err != nil {
		t.Fatalf("reading the refused counter: %v", err)
	}
	return m.GetCounter().GetValue()
}

// decodeObject decodes a JSON object.
func decodeObject(t *testing.T, body []byte) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal(body, &v); err != nil {
		t.Fatalf("body %q is no JSON object: %v", body, err)
	}
	return v
}

// wantError checks a grpc-gateway error answer: status, JSON content type
// and {"code","message","details":[]}.
func wantError(t *testing.T, resp *http.Response, body []byte, status, code int) map[string]any {
	t.Helper()
	v := errorObject(t, resp, body, status)
	if got, ok := v["code"].(float64); !ok || int(got) != code {
		t.Errorf("code = %v, want %d (body %s)", v["code"], code, body)
	}
	if msg, ok := v["message"].(string); !ok || msg == "" {
		t.Errorf("message = %v, want a non-empty string", v["message"])
	}
	if d, ok := v["details"].([]any); !ok || len(d) != 0 {
		t.Errorf("details = %v, want []", v["details"])
	}
	return v
}

// errorObject checks an error answer's status and JSON content type and
// returns its body as an object.
func errorObject(t *testing.T, resp *http.Response, body []byte, status int) map[string]any {
	t.Helper()
	if resp.StatusCode != status {
		t.Errorf("status = %d, want %d (body %s)", resp.StatusCode, status, body)
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	return decodeObject(t, body)
}

// wantTransportMetadata checks that a call reached the service marked as
// coming through the gateway, and only so, on behalf of a client on the
// loopback address.
func wantTransportMetadata(t *testing.T, md metadata.MD) {
	t.Helper()
	if got := md.Get(server.TransportHeader); len(got) != 1 || got[0] != metrics.TransportGateway {
		t.Errorf("%s metadata = %q, want [%q]", server.TransportHeader, got, metrics.TransportGateway)
	}
	got := md.Get(server.ClientAddrHeader)
	if len(got) != 1 {
		t.Fatalf("%s metadata = %q, want the client's address", server.ClientAddrHeader, got)
	}
	if host, _, err := net.SplitHostPort(got[0]); err != nil || host != "127.0.0.1" {
		t.Errorf("%s metadata = %q, want 127.0.0.1:<port>", server.ClientAddrHeader, got[0])
	}
}

// syncBuffer collects output written from several goroutines.
type syncBuffer = testutil.Buffer

func TestNewRefusesBadConfig(t *testing.T) {
	t.Parallel()
	conn, err := grpc.NewClient("passthrough:///unused", grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	tests := []struct {
		name string
		conn grpc.ClientConnInterface
		cfg  gateway.Config
	}{
		{"nil conn", nil, gateway.Config{}},
		{"negative size", conn, gateway.Config{MaxMessageSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := gateway.New(t.Context(), tt.conn, tt.cfg)
			if !errors.Is(err, gateway.ErrInvalidConfig) || h != nil {
				t.Fatalf("New = %v, %v; want nil, ErrInvalidConfig", h, err)
			}
			if !strings.HasPrefix(err.Error(), "gateway: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
		})
	}
}
