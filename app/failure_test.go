package app

import (
	"context"
	"log/slog"
	"strings"
	"testing"
	"time"
)

func TestServerFailureShutsTheNodeDown(t *testing.T) {
	t.Parallel()
	cfg := DefaultConfig()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), nil))
	n, err := Start(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// The HTTP listener fails under the running server.
	if err := n.httpLis.Close(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- n.serveUntil(context.Background()) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), "http server") {
			t.Fatalf("serveUntil: %v, want the HTTP server's failure", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("a failed server did not end the node")
	}
	if n.ready.Load() {
		t.Fatal("node still ready after shutting down")
	}
}
