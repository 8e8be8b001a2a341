package bridge

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
)

// BenchmarkSharedFanout measures a SharedSource's fan-out: one shared
// stream (over the in-process source, so that no network is measured)
// delivering each published message to every subscription, each read by
// its own goroutine as a connection's writer would. It reports the time
// and allocations per delivery. The "direct" cases read the in-process
// source itself, one engine subscription each, for comparison.
//
//	go test -run '^$' -bench SharedFanout -benchmem ./bridge/
func BenchmarkSharedFanout(b *testing.B) {
	for _, mode := range []string{"shared", "direct"} {
		for _, n := range []int{100, 1000} {
			b.Run(fmt.Sprintf("%s/subscriptions=%d", mode, n), func(b *testing.B) {
				benchmarkFanout(b, mode == "shared", n)
			})
		}
	}
}

// benchmarkFanout publishes b.N messages to n subscriptions of the
// in-process source, shared or not, and waits until every reader has
// them all.
func benchmarkFanout(b *testing.B, shared bool, n int) {
	eng := memory.New(memory.Options{QueueLen: 1 << 16})
	defer func() { _ = eng.Close() }()
	var src Source = NewLocalSource(eng, LocalConfig{QueueLen: 1 << 16})
	if shared {
		s := NewSharedSource(src, SharedConfig{QueueLen: 1 << 16})
		defer s.Close()
		src = s
	}
	ctx := context.Background()
	subs := make([]Subscription, n)
	for i := range subs {
		sub, err := src.Subscribe(ctx, Request{Topics: []string{"bench"}})
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Close()
		subs[i] = sub
	}
	// Each reader counts what it got until it has every message.
	var wg sync.WaitGroup
	want := b.N
	for _, sub := range subs {
		wg.Go(func() {
			got := 0
			var buf []engine.Event
			for got < want {
				var err error
				buf, err = sub.Next(ctx, buf[:0])
				if err != nil {
					b.Error(err)
					return
				}
				got += len(buf)
			}
		})
	}
	payload := make([]byte, 100)
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := eng.Publish(ctx, engine.PublishRequest{Topic: "bench", Data: payload}); err != nil {
			b.Fatal(err)
		}
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*n), "ns/delivery")
}
