package server

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/limits"
)

// benchConfig keeps heartbeats out of the way, queues large enough for any
// b.N and the limits off, so the benchmarks measure delivery, not overflow
// or refusals.
var benchConfig = Config{
	HeartbeatInterval: time.Hour,
	QueueLen:          1 << 22,
	QueueBytes:        1 << 30,
	Limits: limits.New(limits.Config{
		MaxConnections: -1, MaxConnectionsPerIP: -1, PublishRate: -1, SubscribeRate: -1,
	}),
}

// BenchmarkPublishReceive measures one message's round trip over loopback
// TCP: a Publish call, then the subscriber's receipt of the message.
func BenchmarkPublishReceive(b *testing.B) {
	e := newEnv(b, benchConfig, memory.Options{HistorySize: 64})
	ctx := testContext(b)
	pub := e.client(b)
	st, _ := subscribe(ctx, b, e.client(b), &heraldv1.SubscribeRequest{Topics: []string{"bench"}})
	req := &heraldv1.PublishRequest{Topic: "bench", Data: []byte(strings.Repeat("x", 128))}

	b.ReportAllocs()
	for b.Loop() {
		if _, err := pub.Publish(ctx, req); err != nil {
			b.Fatal(err)
		}
		if f, err := st.Recv(); err != nil || f.GetMessage() == nil {
			b.Fatalf("Recv: %v, %v", f, err)
		}
	}
}

// BenchmarkFanOut measures delivery of each published message to 100
// subscribers, each on its own connection. The publisher publishes without
// waiting; an op ends when every subscriber has received every message.
func BenchmarkFanOut(b *testing.B) {
	const subscribers = 100
	e := newEnv(b, benchConfig, memory.Options{HistorySize: 64})
	ctx := testContext(b)
	pub := e.client(b)
	streams := make([]subStream, subscribers)
	for i := range streams {
		streams[i], _ = subscribe(ctx, b, e.client(b), &heraldv1.SubscribeRequest{Topics: []string{"bench"}})
	}
	req := &heraldv1.PublishRequest{Topic: "bench", Data: []byte(strings.Repeat("x", 128))}

	b.ReportAllocs()
	b.ResetTimer()
	var wg sync.WaitGroup
	errs := make(chan error, subscribers)
	for _, st := range streams {
		wg.Go(func() {
			for range b.N {
				if _, err := st.Recv(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range b.N {
		if _, err := pub.Publish(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.StopTimer()
	close(errs)
	for err := range errs {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*subscribers), "ns/delivery")
}
