package app_test

import (
	"context"
	"encoding/json"
	"github.com/heraldhq/herald/internal/testutil"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
)

// logBuffer collects output written from several goroutines.
type logBuffer struct{ testutil.Buffer }

// record returns the first JSON log record with message msg.
func (b *logBuffer) record(msg string) (map[string]any, bool) {
	for line := range strings.Lines(b.String()) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			return rec, true
		}
	}
	return nil, false
}

func TestRunServesUntilContextEnds(t *testing.T) {
	t.Parallel()
	var logs logBuffer
	cfg := testConfig(t)
	cfg.Logger = slog.New(slog.NewJSONHandler(&logs, nil))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- app.Run(ctx, cfg) }()

	var started map[string]any
	waitFor(t, 10*time.Second, "the start log record", func() bool {
		var ok bool
		started, ok = logs.record("herald node started")
		return ok
	})
	httpAddr, _ := started["http_addr"].(string)
	if _, ok := started["grpc_addr"].(string); !ok || httpAddr == "" {
		t.Fatalf("start record lacks the addresses: %v", started)
	}
	hc := httpClient(t)
	if code, body := get(t, hc, "http://"+httpAddr+"/readyz"); code != http.StatusOK {
		t.Fatalf("/readyz: %d %s", code, body)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	for _, step := range []string{
		"shutdown requested", "shutdown: not ready",
		"shutdown: gRPC server stopped; subscribers told to reconnect",
		"shutdown: HTTP server stopped", "shutdown: in-process client closed",
		"shutdown: engine closed", "shutdown complete",
	} {
		if _, ok := logs.record(step); !ok {
			t.Errorf("no log record %q", step)
		}
	}
}

func TestRunReturnsStartErrors(t *testing.T) {
	t.Parallel()
	cfg := testConfig(t)
	cfg.GRPCAddr = "127.0.0.1:notaport"
	if err := app.Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "gRPC address") {
		t.Fatalf("Run with a bad address: %v", err)
	}
}
