package loadgen_test

import (
	"context"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
	"github.com/heraldhq/herald/loadgen"
)

// startNode starts an in-process node on free loopback ports, shut down at
// the end of the test.
func startNode(t *testing.T, heartbeat time.Duration) *app.Node {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
	if heartbeat > 0 {
		cfg.HeartbeatInterval = heartbeat
	}
	n, err := app.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("app.Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = n.Shutdown(ctx)
	})
	return n
}

// smallRun is a short run against node: 5 subscribers, 50 msg/s for 1s
// after a 200ms warm-up, with this process as the server process.
func smallRun(t *testing.T, node *app.Node, transport loadgen.Transport) loadgen.Config {
	return loadgen.Config{
		Transport:   transport,
		Subscribers: 5,
		Rate:        50,
		Duration:    time.Second,
		Warmup:      200 * time.Millisecond,
		HTTPAddr:    node.HTTPAddr().String(),
		GRPCAddr:    node.GRPCAddr().String(),
		ServerPID:   os.Getpid(),
		ConnectRate: 100,
		Drain:       20 * time.Second,
		Logger:      slog.New(slog.NewTextHandler(t.Output(), nil)),
	}
}

// requireEndpoint skips the test when the node answers 404 to GET path:
// the transport is not served by this build.
func requireEndpoint(t *testing.T, node *app.Node, path string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+node.HTTPAddr().String()+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		t.Skipf("GET %s answers 404: this node does not serve the endpoint yet", path)
	}
}

// hookHandler is a slog handler that calls fn with the message of every
// record, once per message text, so that a test can act when a run reaches
// a phase.
type hookHandler struct {
	mu   sync.Mutex
	seen map[string]bool
	fn   func(msg string)
}

func newHook(fn func(msg string)) *slog.Logger {
	return slog.New(&hookHandler{seen: map[string]bool{}, fn: fn})
}

func (h *hookHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *hookHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *hookHandler) WithGroup(string) slog.Handler            { return h }
func (h *hookHandler) Handle(_ context.Context, r slog.Record) error {
	h.mu.Lock()
	first := !h.seen[r.Message]
	h.seen[r.Message] = true
	h.mu.Unlock()
	if first {
		h.fn(r.Message)
	}
	return nil
}

// freeAddr returns a loopback address where nothing listens.
func freeAddr(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := lis.Addr().String()
	_ = lis.Close()
	return addr
}
