package memory

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/heraldhq/herald/engine"
)

// drainEvery is how many publishes the batch-drained fan-out benchmarks
// make between drains, with the timer stopped; it is also their queue
// bound, so no subscription overflows.
const drainEvery = 256

var benchData = make([]byte, 128)

// BenchmarkPublishFanout measures what one publish costs with n
// subscriptions to its topic. Queues are drained in batches with the timer
// stopped, so the numbers are the publisher's side only.
func BenchmarkPublishFanout(b *testing.B) {
	for _, n := range []int{0, 1, 100, 10000} {
		b.Run("subscribers="+strconv.Itoa(n), func(b *testing.B) {
			e := New(Options{QueueLen: drainEvery})
			defer e.Close()
			subs := make([]engine.Subscription, n)
			for i := range subs {
				subs[i] = mustSubscribe(b, e, engine.SubscribeRequest{Patterns: pats("bench.fanout")})
			}
			ctx := context.Background()
			req := engine.PublishRequest{Topic: "bench.fanout", Data: benchData}
			var buf []engine.Event
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if i > 0 && i%drainEvery == 0 {
					b.StopTimer()
					for _, s := range subs {
						var err error
						if buf, err = s.Next(ctx, buf[:0]); err != nil {
							b.Fatal(err)
						}
					}
					b.StartTimer()
				}
				if _, err := e.Publish(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPublishFanoutLiveReaders is BenchmarkPublishFanout with a
// reader goroutine per subscription, the way transports use the engine:
// publishers then contend with readers for the subscription mutexes.
func BenchmarkPublishFanoutLiveReaders(b *testing.B) {
	for _, n := range []int{1, 100, 1000} {
		b.Run("subscribers="+strconv.Itoa(n), func(b *testing.B) {
			e := New(Options{QueueLen: 1 << 20})
			var wg sync.WaitGroup
			for range n {
				sub := mustSubscribe(b, e, engine.SubscribeRequest{Patterns: pats("bench.live")})
				wg.Go(func() {
					var buf []engine.Event
					for {
						var err error
						if buf, err = sub.Next(context.Background(), buf[:0]); err != nil {
							return
						}
					}
				})
			}
			ctx := context.Background()
			req := engine.PublishRequest{Topic: "bench.live", Data: benchData}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := e.Publish(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			_ = e.Close()
			wg.Wait()
		})
	}
}

// BenchmarkPublishParallel measures publishes from all CPUs to distinct
// topics without subscribers: the cost of the one engine mutex.
func BenchmarkPublishParallel(b *testing.B) {
	e := New(Options{})
	defer e.Close()
	var next atomic.Int64
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		req := engine.PublishRequest{Topic: fmt.Sprintf("bench.p%d", next.Add(1)), Data: benchData}
		for pb.Next() {
			if _, err := e.Publish(context.Background(), req); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkPublishWildcardPatterns measures a publish that no subscription
// wants while n distinct wildcard patterns are subscribed: the price of
// matching wildcard patterns one by one.
func BenchmarkPublishWildcardPatterns(b *testing.B) {
	for _, n := range []int{10, 100, 1000} {
		b.Run("patterns="+strconv.Itoa(n), func(b *testing.B) {
			e := New(Options{})
			defer e.Close()
			for i := range n {
				pattern := []string{"room%d.*.msg", "user%d.>"}[i%2]
				mustSubscribe(b, e, engine.SubscribeRequest{Patterns: pats(fmt.Sprintf(pattern, i))})
			}
			ctx := context.Background()
			req := engine.PublishRequest{Topic: "room.x.msg", Data: benchData}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if _, err := e.Publish(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSubscribeReplay measures a resuming Subscribe that replays 1000
// retained messages spread over one or ten topics, read to the end, and
// the subscription's Close.
func BenchmarkSubscribeReplay(b *testing.B) {
	const total = 1000
	for _, topics := range []int{1, 10} {
		b.Run("topics="+strconv.Itoa(topics), func(b *testing.B) {
			e := New(Options{HistorySize: total})
			defer e.Close()
			after := mustPublish(b, e, "other", nil).ID
			for i := range total {
				mustPublish(b, e, fmt.Sprintf("bench.t%d", i%topics), benchData)
			}
			ctx := context.Background()
			req := engine.SubscribeRequest{Patterns: pats("bench.>"), After: after}
			if topics == 1 {
				req.Patterns = pats("bench.t0")
			}
			var buf []engine.Event
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				sub, err := e.Subscribe(ctx, req)
				if err != nil {
					b.Fatal(err)
				}
				for got := 0; got < total; {
					if buf, err = sub.Next(ctx, buf[:0]); err != nil {
						b.Fatal(err)
					}
					got += len(buf)
				}
				sub.Close()
			}
		})
	}
}
