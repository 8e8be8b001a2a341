package ws

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/internal/testutil"
)

// The environment of a load client process: the test binary started by
// BenchmarkPacedFanout to hold the client connections, so that the
// benchmark's own CPU time is the server's alone.
const (
	envLoadURL   = "HERALD_WS_LOAD_URL"   // ws://…/v1/ws?topic=…
	envLoadConns = "HERALD_WS_LOAD_CONNS" // connections to open
	envLoadWant  = "HERALD_WS_LOAD_WANT"  // message frames to wait for, in all
)

// loadClient is the load client process's main function. It opens the
// connections, prints "ready", counts message frames, and prints "done"
// once all expected frames arrived. It exits when its stdin closes.
func loadClient() int {
	url := os.Getenv(envLoadURL)
	n, err1 := strconv.Atoi(os.Getenv(envLoadConns))
	want, err2 := strconv.ParseInt(os.Getenv(envLoadWant), 10, 64)
	if err1 != nil || err2 != nil {
		fmt.Fprintln(os.Stderr, "load client: bad environment")
		return 2
	}
	var got atomic.Int64
	done := make(chan struct{})
	var once sync.Once
	for range n {
		c, _, err := websocket.DefaultDialer.Dial(url, nil)
		if err != nil {
			fmt.Fprintln(os.Stderr, "load client:", err)
			return 1
		}
		if _, _, err := c.ReadMessage(); err != nil { // subscribed
			fmt.Fprintln(os.Stderr, "load client:", err)
			return 1
		}
		go func() {
			for {
				_, r, err := c.NextReader()
				if err != nil {
					return
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					return
				}
				if got.Add(1) == want {
					once.Do(func() { close(done) })
				}
			}
		}()
	}
	fmt.Println("ready")
	go func() {
		_, _ = io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}()
	<-done
	fmt.Println("done")
	select {} // until stdin closes
}

// BenchmarkPacedFanout measures the server's CPU time per delivery at a
// steady rate: 100 messages a second of 128 bytes, each to 1 000
// WebSocket connections held by another process, with coalescing off, at
// its default, and with a window longer than the messages' spacing. An
// op is one message (10ms of wall time by design); the metrics that
// matter are server-cpu-s/M-deliveries, the CPU seconds this process
// spent per million deliveries, and writes/delivery, its write system
// calls per delivery (where /proc/self/io tells). Run it with a fixed
// count:
//
//	go test -run '^$' -bench PacedFanout -benchtime 1000x ./bridge/ws/
func BenchmarkPacedFanout(b *testing.B) {
	const subscribers = 1000
	const rate = 100 // messages per second
	for _, window := range []time.Duration{-1, DefaultCoalesceWindow, 20 * time.Millisecond} {
		b.Run(fmt.Sprintf("coalesce=%v", max(window, 0)), func(b *testing.B) {
			e := newEnv(b, envConfig{ws: Config{CoalesceWindow: window, Limits: benchLimits()}})
			cmd := exec.Command(os.Args[0], "-test.run=^$")
			cmd.Env = append(os.Environ(),
				envLoadURL+"="+e.url+"?topic=paced",
				envLoadConns+"="+strconv.Itoa(subscribers),
				envLoadWant+"="+strconv.Itoa(b.N*subscribers))
			cmd.Stderr = os.Stderr
			stdin, err := cmd.StdinPipe()
			if err != nil {
				b.Fatal(err)
			}
			stdout, err := cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			defer func() {
				_ = stdin.Close()
				_ = cmd.Wait()
			}()
			lines := bufio.NewScanner(stdout)
			expectLine := func(want string) {
				if !lines.Scan() || strings.TrimSpace(lines.Text()) != want {
					b.Fatalf("load client said %q (%v), want %q", lines.Text(), lines.Err(), want)
				}
			}
			expectLine("ready")
			waitFor(b, testTimeout, "subscriptions", func() bool { return e.subscriptions(b) == subscribers })

			req := engine.PublishRequest{Topic: "paced", Data: []byte(strings.Repeat("x", 128))}
			tick := time.NewTicker(time.Second / rate)
			defer tick.Stop()
			b.ResetTimer()
			cpu := testutil.CPUTime(b)
			writes0, countsWrites := writeCalls()
			for range b.N {
				<-tick.C
				if _, err := e.eng.Publish(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
			expectLine("done")
			used := testutil.CPUTime(b) - cpu
			writes1, _ := writeCalls()
			b.StopTimer()
			deliveries := float64(b.N) * subscribers
			b.ReportMetric(used.Seconds()/(deliveries/1e6), "server-cpu-s/M-deliveries")
			if countsWrites {
				b.ReportMetric(float64(writes1-writes0)/deliveries, "writes/delivery")
			}
		})
	}
}

// writeCalls returns how many write system calls the process made so
// far (syscw in /proc/self/io), and false where that is not available.
func writeCalls() (int64, bool) {
	b, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return 0, false
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "syscw: "); ok {
			n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// rss is the resident set size of the process, in bytes.
func rss(tb testing.TB) int64 {
	tb.Helper()
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		tb.Skipf("no /proc: %v", err)
	}
	f := strings.Fields(string(b))
	pages, err := strconv.ParseInt(f[1], 10, 64)
	if err != nil {
		tb.Fatal(err)
	}
	return pages * int64(os.Getpagesize())
}

// BenchmarkIdleConnections measures what an idle, subscribed connection
// costs the server: 10 000 connections held by another process, each
// subscribed to a topic of its own, after the handshakes' garbage is
// collected. It reports the growth per connection of the resident set
// (rss-B/conn), the Go heap in use (heap-B/conn) and goroutine stacks
// (stack-B/conn). An op
// is the whole measurement; run it once:
//
//	go test -run '^$' -bench IdleConnections -benchtime 1x ./bridge/ws/
func BenchmarkIdleConnections(b *testing.B) {
	const conns = 10_000
	for range b.N {
		e := newEnv(b, envConfig{ws: Config{Limits: benchLimits()}})
		runtime.GC()
		debug.FreeOSMemory()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		rss0 := rss(b)

		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			envLoadURL+"="+e.url+"?topic=idle", envLoadConns+"="+strconv.Itoa(conns), envLoadWant+"=0")
		cmd.Stderr = os.Stderr
		stdin, err := cmd.StdinPipe()
		if err != nil {
			b.Fatal(err)
		}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			b.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		lines := bufio.NewScanner(stdout)
		if !lines.Scan() || lines.Text() != "ready" {
			b.Fatalf("load client said %q", lines.Text())
		}
		waitFor(b, time.Minute, "connections", func() bool { return e.connections(b) == conns })
		runtime.GC()
		debug.FreeOSMemory()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(rss(b)-rss0)/conns, "rss-B/conn")
		b.ReportMetric(float64(int64(after.HeapInuse)-int64(before.HeapInuse))/conns, "heap-B/conn")
		b.ReportMetric(float64(int64(after.StackInuse)-int64(before.StackInuse))/conns, "stack-B/conn")
		b.ReportMetric(float64(runtime.NumGoroutine())/conns, "goroutines/conn")

		_ = stdin.Close()
		_ = cmd.Wait()
		e.waitClosed(b)
	}
}
