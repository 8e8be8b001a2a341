// Package testutil holds helpers shared by Herald's tests. It is imported
// only from _test.go files.
package testutil

import (
	"bytes"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// WaitFor polls cond every few milliseconds until it holds, and fails the
// test when timeout passes first, naming what it waited for.
func WaitFor(t testing.TB, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// MetricValue reads a counter's or gauge's value, or a histogram's sample
// count.
func MetricValue(t testing.TB, m prometheus.Metric) float64 {
	t.Helper()
	var pb dto.Metric
	if err := m.Write(&pb); err != nil {
		t.Fatal(err)
	}
	switch {
	case pb.Counter != nil:
		return pb.Counter.GetValue()
	case pb.Gauge != nil:
		return pb.Gauge.GetValue()
	case pb.Histogram != nil:
		return float64(pb.Histogram.GetSampleCount())
	}
	t.Fatalf("unsupported metric %v", m.Desc())
	return 0
}

// VerifyTestMain runs the package's tests and fails them if goroutines leak
// (goleak.VerifyTestMain). In a fuzzing worker process, which the fuzzing
// engine starts and stops itself, it runs without the leak check: the
// engine's own goroutines may still be winding down when the worker exits,
// and the check would fail the fuzz target with no input to blame. Normal
// test runs and the fuzzing coordinator are still checked.
func VerifyTestMain(m *testing.M, opts ...goleak.Option) {
	if slices.Contains(os.Args[1:], "-test.fuzzworker") {
		os.Exit(m.Run())
	}
	goleak.VerifyTestMain(m, opts...)
}

// Buffer is a bytes.Buffer that is safe for concurrent use: a log sink or a
// command's output that goroutines write while the test reads it.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
