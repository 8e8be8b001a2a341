package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/client"
)

// logRecord returns the first JSON log record with message msg in out.
func logRecord(out, msg string) (map[string]any, bool) {
	for line := range strings.Lines(out) {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == msg {
			return rec, true
		}
	}
	return nil, false
}

func TestServeCommandRunsANodeUntilInterrupted(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	vars := map[string]string{
		"HERALD_HEARTBEAT_INTERVAL": "300ms",
		"HERALD_LOG_FORMAT":         "json",
		"HERALD_GRPC_ADDR":          "127.0.0.1:1", // overridden by the flag
	}
	done := make(chan int, 1)
	go func() {
		// serve is the default command.
		done <- execute(ctx, []string{"--grpc-addr", "127.0.0.1:0", "--http-addr", "127.0.0.1:0"},
			testEnv(vars, "", &stdout, &stderr))
	}()

	var started map[string]any
	waitFor(t, 20*time.Second, "the start log record", func() bool {
		var ok bool
		started, ok = logRecord(stderr.String(), "herald node started")
		return ok
	})
	addr, _ := started["grpc_addr"].(string)
	if !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("started on %q", addr)
	}

	// The environment reached the node: streams get its heartbeat interval.
	sub := testClient(t, addr).Subscribe(t.Context(), []string{"t"})
	ev, err := sub.Next(t.Context())
	if err != nil || ev.Kind != client.KindConnected {
		t.Fatalf("subscribe: %v %v", ev.Kind, err)
	}
	if got := ev.Subscribed.GetHeartbeatInterval().AsDuration(); got != 300*time.Millisecond {
		t.Fatalf("heartbeat interval %v, want the 300ms of HERALD_HEARTBEAT_INTERVAL", got)
	}
	_ = sub.Close()

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("serve exited %d: %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("serve did not stop after the interrupt")
	}
	if _, ok := logRecord(stderr.String(), "shutdown complete"); !ok {
		t.Fatalf("no shutdown record in %s", stderr.String())
	}
	if stdout.String() != "" {
		t.Fatalf("serve wrote to stdout: %q", stdout.String())
	}
}

func TestServeCommandFailsOnBusyAddress(t *testing.T) {
	t.Parallel()
	n := startNode(t, testNodeConfig(t))
	r := run(t, t.Context(), nil, "", "serve", "--grpc-addr", "127.0.0.1:0", "--http-addr", n.HTTPAddr().String())
	if r.code != exitFailure || !strings.Contains(r.stderr, "herald serve: app: HTTP address") {
		t.Fatalf("busy address: code %d, stderr %q", r.code, r.stderr)
	}
}
