package main

import (
	"context"
	"github.com/heraldhq/herald/internal/testutil"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}

// syncBuffer collects output written from several goroutines.
type syncBuffer = testutil.Buffer

// result is what a command run in-process left behind.
type result struct {
	code           int
	stdout, stderr string
}

// run executes a command line with the given environment variables.
func run(t *testing.T, ctx context.Context, vars map[string]string, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	code := execute(ctx, args, env{
		lookup: func(name string) (string, bool) {
			v, ok := vars[name]
			return v, ok
		},
		stdout: &stdout,
		stderr: &stderr,
	})
	return result{code: code, stdout: stdout.String(), stderr: stderr.String()}
}

// startNode starts an in-process node on free loopback ports, shut down at
// the end of the test.
func startNode(t *testing.T) *app.Node {
	t.Helper()
	cfg := app.DefaultConfig()
	cfg.GRPCAddr, cfg.HTTPAddr = "127.0.0.1:0", "127.0.0.1:0"
	cfg.ShutdownTimeout = 5 * time.Second
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
