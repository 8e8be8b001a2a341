package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/app"
)

func TestBridgeCommandRelaysSSE(t *testing.T) {
	t.Parallel()
	up := startNode(t, testNodeConfig(t))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- execute(ctx, []string{"bridge", "--http-addr", "127.0.0.1:0", "--coalesce-window", "0"},
			testEnv(map[string]string{
				"HERALD_UPSTREAM":   up.GRPCAddr().String(),
				"HERALD_LOG_FORMAT": "json",
			}, "", &stdout, &stderr))
	}()

	var started map[string]any
	waitFor(t, 20*time.Second, "the start log record", func() bool {
		var ok bool
		started, ok = logRecord(stderr.String(), "herald bridge started")
		return ok
	})
	addr, _ := started["http_addr"].(string)
	if started["upstream"] != up.GRPCAddr().String() || !strings.HasPrefix(addr, "127.0.0.1:") {
		t.Fatalf("started %v", started)
	}

	sctx, scancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer scancel()
	req, _ := http.NewRequestWithContext(sctx, http.MethodGet, "http://"+addr+"/v1/sse?topic=news", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /v1/sse on the bridge: %s", resp.Status)
	}
	lines := bufio.NewScanner(resp.Body)
	waitLine := func(want string) {
		t.Helper()
		for lines.Scan() {
			if lines.Text() == want {
				return
			}
		}
		t.Fatalf("stream ended before %q: %v", want, lines.Err())
	}
	waitLine("event: herald.subscribed")
	res, err := testClient(t, up.GRPCAddr().String()).Publish(t.Context(), "news", []byte("relayed"))
	if err != nil {
		t.Fatal(err)
	}
	waitLine("id: " + res.GetId())
	waitLine("data: relayed")

	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("bridge exited %d: %s", code, stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatal("bridge did not stop after the interrupt")
	}
	waitLine("event: herald.error")
}

func TestBridgeCommandUsage(t *testing.T) {
	t.Parallel()
	r := run(t, t.Context(), nil, "", "bridge", "--upstream", "")
	if r.code != exitUsage || !strings.Contains(r.stderr, "--upstream is required") {
		t.Fatalf("empty upstream: %d %q", r.code, r.stderr)
	}
	r = run(t, t.Context(), nil, "", "bridge", "extra")
	if r.code != exitUsage || !strings.Contains(r.stderr, `unexpected argument "extra"`) {
		t.Fatalf("extra argument: %d %q", r.code, r.stderr)
	}
	r = run(t, t.Context(), nil, "", "help", "bridge")
	if r.code != exitOK || !strings.Contains(r.stdout, "--upstream ADDR") || !strings.Contains(r.stdout, "HERALD_COALESCE_WINDOW") {
		t.Fatalf("help bridge: %d %q", r.code, r.stdout)
	}
}

func TestBrowserFlags(t *testing.T) {
	t.Parallel()
	var f serveFlags
	c := newServeCommand(&f)
	if _, err := c.Parse([]string{"--coalesce-window", "0", "--write-timeout", "3s", "--sse-retry", "500ms", "--ws-read-limit", "1024"},
		func(string) (string, bool) { return "", false }, nil); err != nil {
		t.Fatal(err)
	}
	got := f.appConfig(nil).Browser
	want := app.BrowserConfig{CoalesceWindow: -1, WriteTimeout: 3 * time.Second, SSERetry: 500 * time.Millisecond, WSReadLimit: 1024}
	if got != want {
		t.Fatalf("browser config %+v, want %+v (a zero window turns coalescing off)", got, want)
	}
	f = serveFlags{}
	c = newServeCommand(&f)
	if _, err := c.Parse(nil, func(string) (string, bool) { return "", false }, nil); err != nil {
		t.Fatal(err)
	}
	if got := f.appConfig(nil).Browser; got != app.DefaultConfig().Browser {
		t.Fatalf("default browser config %+v, want %+v", got, app.DefaultConfig().Browser)
	}
}
