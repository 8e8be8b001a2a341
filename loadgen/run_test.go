package loadgen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/loadgen"
)

// checkComplete checks a publishing run's report for zero loss and sane
// numbers.
func checkComplete(t *testing.T, rep *loadgen.Report, subs int) {
	t.Helper()
	if rep.Interrupted || rep.Error != "" {
		t.Fatalf("run interrupted %v, error %q", rep.Interrupted, rep.Error)
	}
	c := rep.Connections
	if c.Connected != subs || c.Failed != 0 || c.Lost != 0 {
		t.Fatalf("connections %+v, want %d connected, none failed or lost", c, subs)
	}
	p, d := rep.Publish, rep.Deliveries
	if p == nil || d == nil {
		t.Fatalf("no publish or delivery section: %+v", rep)
	}
	if p.Published == 0 || p.Errors != 0 {
		t.Fatalf("published %d with %d errors", p.Published, p.Errors)
	}
	if d.Expected != p.Published*uint64(subs) || d.Received != d.Expected || d.Unique != d.Expected {
		t.Fatalf("deliveries %+v for %d published to %d subscribers", d, p.Published, subs)
	}
	if d.Missing != 0 || d.Duplicates != 0 || d.OutOfOrder != 0 || d.Foreign != 0 || d.Gaps != 0 {
		t.Fatalf("faults in %+v", d)
	}
	if d.InWindow == 0 || d.PerSecond <= 0 || d.WindowSeconds <= 0 {
		t.Fatalf("window %+v", d)
	}
	l := rep.Latency
	if l == nil || l.Count == 0 || l.Count > d.Received {
		t.Fatalf("latency %+v for %d received", l, d.Received)
	}
	if !(l.MinMS <= l.P50MS && l.P50MS <= l.P99MS && l.P99MS <= l.MaxMS) || l.MaxMS <= 0 {
		t.Fatalf("latency percentiles out of order: %+v", l)
	}
	s := rep.Server
	if s == nil || s.RSSBeforeKiB <= 0 || s.RSSAfterKiB <= 0 || s.WindowSeconds <= 0 || s.CPUSeconds < 0 {
		t.Fatalf("server section %+v", s)
	}
	if s.CPUSeconds > 0 && s.CPUSecondsPerMillion <= 0 {
		t.Fatalf("CPU per million missing: %+v", s)
	}
	// Both renderings work.
	var text bytes.Buffer
	if err := rep.WriteText(&text); err != nil || !strings.Contains(text.String(), "0 missing, 0 duplicates, 0 out of order") {
		t.Fatalf("text report (%v):\n%s", err, text.String())
	}
	if _, err := json.Marshal(rep); err != nil {
		t.Fatal(err)
	}
}

func TestRunGRPC(t *testing.T) {
	t.Parallel()
	node := startNode(t, 0)
	rep, err := loadgen.Run(t.Context(), smallRun(t, node, loadgen.TransportGRPC))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkComplete(t, rep, 5)
	if rep.Publish.Published < 10 {
		t.Fatalf("only %d messages published at 50/s over 1.2s", rep.Publish.Published)
	}
}

func TestRunSSE(t *testing.T) {
	t.Parallel()
	node := startNode(t, 0)
	requireEndpoint(t, node, "/v1/sse?topic=probe")
	rep, err := loadgen.Run(t.Context(), smallRun(t, node, loadgen.TransportSSE))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkComplete(t, rep, 5)
}

func TestRunSSEEnvelope(t *testing.T) {
	t.Parallel()
	node := startNode(t, 0)
	requireEndpoint(t, node, "/v1/sse?topic=probe")
	cfg := smallRun(t, node, loadgen.TransportSSE)
	cfg.SSEEnvelope = true
	rep, err := loadgen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkComplete(t, rep, 5)
}

func TestRunWS(t *testing.T) {
	t.Parallel()
	node := startNode(t, 0)
	requireEndpoint(t, node, "/v1/ws?topic=probe")
	rep, err := loadgen.Run(t.Context(), smallRun(t, node, loadgen.TransportWS))
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkComplete(t, rep, 5)
}

func TestRunIdle(t *testing.T) {
	t.Parallel()
	node := startNode(t, 100*time.Millisecond)
	cfg := smallRun(t, node, loadgen.TransportGRPC)
	cfg.Idle = true
	cfg.Duration = 600 * time.Millisecond
	rep, err := loadgen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if rep.Mode != "idle" || rep.Publish != nil || rep.Deliveries != nil || rep.Latency != nil {
		t.Fatalf("idle report with publishing sections: %+v", rep)
	}
	c := rep.Connections
	if c.Connected != 5 || c.Lost != 0 || c.Failed != 0 {
		t.Fatalf("connections %+v", c)
	}
	// Heartbeats every 100ms over 600ms reach every subscriber.
	if c.Heartbeats < 5 {
		t.Fatalf("%d heartbeats on 5 idle connections over 600ms at 100ms", c.Heartbeats)
	}
	s := rep.Server
	if s == nil || s.RSSBeforeKiB <= 0 || s.RSSConnectedKiB <= 0 || s.RSSAfterKiB <= 0 || s.WindowSeconds <= 0 {
		t.Fatalf("server section %+v", s)
	}
	if want := float64(s.RSSAfterKiB-s.RSSBeforeKiB) / 5; s.KiBPerConnection != want {
		t.Fatalf("KiB per connection %v, want %v", s.KiBPerConnection, want)
	}
}

func TestRunReportsLostConnections(t *testing.T) {
	t.Parallel()
	node := startNode(t, 0)
	cfg := smallRun(t, node, loadgen.TransportGRPC)
	cfg.Warmup = 0
	cfg.Duration = 2 * time.Second
	cfg.Logger = newHook(func(msg string) {
		if msg == "publishing" {
			// The server goes away while messages are being published.
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_ = node.Shutdown(ctx)
			}()
		}
	})
	rep, err := loadgen.Run(t.Context(), cfg)
	if rep == nil {
		t.Fatalf("no report (err %v)", err)
	}
	c := rep.Connections
	if c.Connected != 5 || c.Lost != 5 {
		t.Fatalf("connections %+v, want 5 connected and lost", c)
	}
	var reasons []string
	for r := range c.LostReasons {
		reasons = append(reasons, r)
	}
	if !strings.Contains(strings.Join(reasons, "|"), "Unavailable") {
		t.Fatalf("lost reasons %v do not say the server went away", reasons)
	}
	if rep.Publish == nil || rep.Publish.Errors == 0 || rep.Publish.LastError == "" {
		t.Fatalf("publishing to a server that is gone reported no error: %+v", rep.Publish)
	}
}

func TestRunInterrupted(t *testing.T) {
	t.Parallel()
	node := startNode(t, 0)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := smallRun(t, node, loadgen.TransportGRPC)
	cfg.Duration = time.Hour // only the interruption ends it
	cfg.Warmup = 0
	published := make(chan struct{})
	cfg.Logger = newHook(func(msg string) {
		if msg == "publishing" {
			close(published)
		}
	})
	go func() {
		<-published
		cancel()
	}()
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if !rep.Interrupted || rep.Connections.Connected != 5 || rep.Deliveries == nil {
		t.Fatalf("report %+v", rep)
	}
	if rep.Deliveries.Duplicates != 0 || rep.Deliveries.OutOfOrder != 0 {
		t.Fatalf("faults after an interruption: %+v", rep.Deliveries)
	}
}

func TestRunCountsForeignMessages(t *testing.T) {
	t.Parallel()
	node := startNode(t, 0)
	cfg := smallRun(t, node, loadgen.TransportGRPC)
	cfg.Topic = "bench.foreign"
	conn, err := grpc.NewClient(node.GRPCAddr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	client := heraldv1.NewPubSubServiceClient(conn)
	sent := make(chan error, 1)
	cfg.Logger = newHook(func(msg string) {
		if msg == "publishing" {
			// Someone else publishes on the same topic: not this run's.
			go func() {
				_, err := client.Publish(context.Background(), &heraldv1.PublishRequest{Topic: cfg.Topic, Data: []byte("not a bench payload")})
				sent <- err
			}()
		}
	})
	rep, err := loadgen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	if err := <-sent; err != nil {
		t.Fatalf("Publish: %v", err)
	}
	d := rep.Deliveries
	if d.Foreign != 5 || d.Missing != 0 || d.Duplicates != 0 || d.Received != d.Expected {
		t.Fatalf("deliveries %+v, want 5 foreign and nothing else amiss", d)
	}
}

func TestRunWithoutServer(t *testing.T) {
	t.Parallel()
	cfg := loadgen.Config{
		Transport:   loadgen.TransportGRPC,
		Subscribers: 3,
		Duration:    time.Second,
		HTTPAddr:    freeAddr(t),
		GRPCAddr:    freeAddr(t),
	}
	rep, err := loadgen.Run(t.Context(), cfg)
	if err == nil || !strings.Contains(err.Error(), "no subscriber could connect") {
		t.Fatalf("Run: %v, want no subscriber could connect", err)
	}
	if rep == nil || rep.Connections.Failed != 3 || rep.Connections.Connected != 0 || len(rep.Connections.FailureReasons) == 0 {
		t.Fatalf("report %+v", rep)
	}
}

func TestRunRefusesNonLoopbackTargets(t *testing.T) {
	t.Parallel()
	for _, cfg := range []loadgen.Config{
		{GRPCAddr: "192.0.2.1:9090"},
		{HTTPAddr: "[2001:db8::1]:8080"},
		{HTTPAddr: "127.0.0.1:8080", GRPCAddr: "0.0.0.0:9090"},
	} {
		rep, err := loadgen.Run(t.Context(), cfg)
		if !errors.Is(err, loadgen.ErrInvalidConfig) || rep != nil || !strings.Contains(err.Error(), "only loopback") {
			t.Errorf("Run(%+v) = %v, %v; want a refusal", cfg, rep, err)
		}
	}
	rep, err := loadgen.Run(t.Context(), loadgen.Config{ServerPID: 1 << 30})
	if !errors.Is(err, loadgen.ErrInvalidConfig) || rep != nil {
		t.Errorf("a server pid that does not exist: %v", err)
	}
}

func TestRunInterruptedWhileConnecting(t *testing.T) {
	t.Parallel()
	node := startNode(t, 0)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	cfg := smallRun(t, node, loadgen.TransportGRPC)
	cfg.Subscribers = 1000
	cfg.ConnectRate = 10 // 100 s to connect them all: the interruption comes first
	cfg.Logger = newHook(func(msg string) {
		if msg == "connecting" {
			cancel()
		}
	})
	rep, err := loadgen.Run(ctx, cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	c := rep.Connections
	if !rep.Interrupted || c.Attempted >= 1000 || c.Connected > c.Attempted || c.Failed != 0 {
		t.Fatalf("report %+v", rep)
	}
	if rep.Publish != nil || rep.Deliveries != nil {
		t.Fatalf("publishing sections after an interruption before publishing: %+v %+v", rep.Publish, rep.Deliveries)
	}
}

// TestRunWindowLastsTheDuration checks that the measured window and the
// publish rate cover the whole duration even when the last message is due
// long before its end.
func TestRunWindowLastsTheDuration(t *testing.T) {
	t.Parallel()
	node := startNode(t, 0)
	cfg := smallRun(t, node, loadgen.TransportGRPC)
	cfg.Rate = 2 // messages due at 0, 0.5 s, 1 s, 1.5 s: the last one 0.5 s before the end
	cfg.Warmup = 0
	cfg.Duration = 2 * time.Second
	rep, err := loadgen.Run(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	checkComplete(t, rep, 5)
	if rep.Publish.Published != 4 {
		t.Fatalf("published %d, want 4 at 2 msg/s over 2 s", rep.Publish.Published)
	}
	if w := rep.Deliveries.WindowSeconds; w < 1.9 {
		t.Fatalf("window %.2fs, want the 2s duration", w)
	}
	if r := rep.Publish.RatePerSecond; r < 1.8 || r > 2.2 {
		t.Fatalf("publish rate %.2f/s, want 2", r)
	}
}
