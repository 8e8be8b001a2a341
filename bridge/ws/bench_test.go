package ws

import (
	"context"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/limits"
)

// fanoutClients connects n clients to topic "f" and counts the messages
// they receive, reading with as little work as a client can do.
func fanoutClients(b *testing.B, e *env, n int) (*atomic.Int64, func()) {
	b.Helper()
	var delivered atomic.Int64
	var wg sync.WaitGroup
	conns := make([]*websocket.Conn, n)
	for i := range conns {
		c := e.dial(b, "?topic=f")
		expect(b, c, "subscribed")
		conns[i] = c
		wg.Go(func() {
			for {
				_, r, err := c.NextReader()
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					return
				}
				delivered.Add(1)
			}
		})
	}
	return &delivered, func() {
		for _, c := range conns {
			_ = c.Close()
		}
		wg.Wait()
	}
}

// BenchmarkFanout publishes messages of 128 bytes to 1 000 WebSocket
// connections over loopback, with at most 16 messages in flight. An op is
// one publish, so ns/op ÷ 1 000 is the wall time per delivery; the
// cpu-ns/delivery metric is the CPU of both sides, which share the
// machine, per delivery.
func BenchmarkFanout(b *testing.B) {
	const subscribers = 1000
	const inFlight = 16
	for _, window := range []time.Duration{-1, DefaultCoalesceWindow} {
		b.Run(fmt.Sprintf("coalesce=%v", max(window, 0)), func(b *testing.B) {
			e := newEnv(b, envConfig{ws: Config{CoalesceWindow: window, Limits: benchLimits()}})
			delivered, stop := fanoutClients(b, e, subscribers)
			defer stop()
			data := make([]byte, 128)
			for i := range data {
				data[i] = 'a' + byte(i%26)
			}
			req := engine.PublishRequest{Topic: "f", Data: data}
			b.ReportAllocs()
			b.ResetTimer()
			cpu := testutil.CPUTime(b)
			for i := range b.N {
				for delivered.Load() < int64(i-inFlight)*subscribers {
					time.Sleep(50 * time.Microsecond)
				}
				if _, err := e.eng.Publish(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
			want := int64(b.N) * subscribers
			for delivered.Load() < want {
				time.Sleep(50 * time.Microsecond)
			}
			b.StopTimer()
			b.ReportMetric(float64(testutil.CPUTime(b)-cpu)/float64(want), "cpu-ns/delivery")
		})
	}
}

// benchLimits lifts the connection limits: a benchmark's clients all come
// from one address.
func benchLimits() *limits.Limiter {
	return limits.New(limits.Config{MaxConnections: -1, MaxConnectionsPerIP: -1})
}
