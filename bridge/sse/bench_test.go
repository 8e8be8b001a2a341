package sse

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/limits"
	"github.com/heraldhq/herald/metrics"
)

// benchConns is how many SSE connections a fan-out benchmark serves.
const benchConns = 1000

// BenchmarkFanout publishes messages to one topic with benchConns SSE
// connections subscribed over loopback HTTP/1.1, and reports per delivery
// the wall time (ns/op divided by the connections), the CPU time of the
// whole process (server and the in-process readers, from getrusage) and
// how many deliveries shared a write on average. Loads:
//
//   - inflight=1: one publish at a time, the next once every connection
//     has the previous one: the latency-bound case.
//   - inflight=32: up to 32 messages ahead of the slowest delivery: the
//     throughput-bound case, where the writers are saturated and batch by
//     themselves.
//   - rate=1000/s, rate=400/s: a steady publisher, a message every 1 or
//     2.5 milliseconds: more often than the default coalesce window, the
//     case the window is for.
func BenchmarkFanout(b *testing.B) {
	for _, coalesce := range []time.Duration{-1, DefaultCoalesceWindow} {
		c := "coalesce=" + coalesce.String()
		if coalesce < 0 {
			c = "coalesce=off"
		}
		for _, load := range []struct {
			name     string
			inflight int
			interval time.Duration
		}{
			{"inflight=1", 1, 0},
			{"inflight=32", 32, 0},
			{"rate=1000/s", 0, time.Millisecond},
			{"rate=400/s", 0, 2500 * time.Microsecond},
		} {
			b.Run(c+"/"+load.name, func(b *testing.B) { benchFanout(b, coalesce, load.inflight, load.interval) })
		}
	}
}

func benchFanout(b *testing.B, coalesce time.Duration, inflight int, interval time.Duration) {
	eng := memory.New(memory.Options{QueueLen: 1 << 16})
	defer eng.Close()
	m := metrics.New()
	h := New(bridge.NewLocalSource(eng, bridge.LocalConfig{}), Config{
		CoalesceWindow: coalesce,
		Metrics:        m,
		// The benchmark's clients all come from one address.
		Limits: limits.New(limits.Config{MaxConnections: -1, MaxConnectionsPerIP: -1}),
	})
	var writes atomic.Int64
	base, _ := serve(b, h, http1, func(l net.Listener) net.Listener { return countingListener{Listener: l, writes: &writes} })
	defer func() { _ = h.Shutdown(context.Background()) }()

	var delivered atomic.Int64
	var wg sync.WaitGroup
	defer wg.Wait()
	conns := make([]net.Conn, 0, benchConns)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range benchConns {
		c, err := net.Dial("tcp", strings.TrimPrefix(base, "http://"))
		if err != nil {
			b.Fatal(err)
		}
		conns = append(conns, c)
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/sse?topic=bench", nil)
		if err := req.Write(c); err != nil {
			b.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			countDeliveries(c, req, &delivered)
		}()
	}
	subs := m.Subscriptions.WithLabelValues(metrics.TransportSSE)
	waitFor(b, time.Minute, "every connection to subscribe", func() bool { return value(b, subs) == benchConns })

	payload := []byte(strings.Repeat("p", 64))
	ctx := context.Background()
	var sent int64
	start := testutil.CPUTime(b)
	writesBefore := writes.Load()
	var tick *time.Ticker
	if interval > 0 {
		tick = time.NewTicker(interval)
		defer tick.Stop()
	}
	b.ResetTimer()
	for b.Loop() {
		if tick != nil {
			<-tick.C
		}
		if _, err := eng.Publish(ctx, engine.PublishRequest{Topic: "bench", Data: payload}); err != nil {
			b.Fatal(err)
		}
		sent++
		if inflight > 0 {
			waitDelivered(&delivered, (sent-int64(inflight)+1)*benchConns)
		}
	}
	waitDelivered(&delivered, sent*benchConns)
	b.StopTimer()
	cpu := testutil.CPUTime(b) - start
	deliveries := float64(sent * benchConns)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/deliveries, "wall-ns/delivery")
	b.ReportMetric(float64(cpu.Nanoseconds())/deliveries, "cpu-ns/delivery")
	b.ReportMetric(deliveries/float64(writes.Load()-writesBefore), "deliveries/write")
}

// countDeliveries reads an event stream and counts its message frames
// (data lines of the benchmark's payload).
func countDeliveries(c net.Conn, req *http.Request, delivered *atomic.Int64) {
	resp, err := http.ReadResponse(bufio.NewReaderSize(c, 64<<10), req)
	if err != nil {
		return
	}
	defer resp.Body.Close()
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	for {
		line, err := r.ReadSlice('\n')
		if err != nil {
			return
		}
		if len(line) > 7 && line[6] == 'p' && string(line[:6]) == "data: " {
			delivered.Add(1)
		}
	}
}

// waitDelivered waits until delivered reaches target.
func waitDelivered(delivered *atomic.Int64, target int64) {
	for delivered.Load() < target {
		time.Sleep(20 * time.Microsecond)
	}
}

// countingListener counts the writes to the connections it accepts.
type countingListener struct {
	net.Listener
	writes *atomic.Int64
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return countingConn{Conn: c, writes: l.writes}, nil
}

// countingConn counts its writes.
type countingConn struct {
	net.Conn
	writes *atomic.Int64
}

func (c countingConn) Write(p []byte) (int, error) {
	c.writes.Add(1)
	return c.Conn.Write(p)
}
