package client

import (
	"testing"
	"time"
)

func TestBackoffCeilingDoublesUpToMax(t *testing.T) {
	b := newBackoff(10*time.Millisecond, 75*time.Millisecond)
	want := []time.Duration{10, 20, 40, 75, 75, 75}
	for i, w := range want {
		if got := b.ceiling(i + 1); got != w*time.Millisecond {
			t.Errorf("ceiling(%d) = %v, want %v", i+1, got, w*time.Millisecond)
		}
	}
	if got := b.ceiling(10_000); got != 75*time.Millisecond {
		t.Errorf("ceiling(10000) = %v, want the max", got)
	}
}

func TestBackoffFullJitter(t *testing.T) {
	b := newBackoff(10*time.Millisecond, time.Second)
	var asked int64
	b.jitter = func(n int64) int64 { asked = n; return n - 1 }
	if got := b.delay(3); got != 40*time.Millisecond {
		t.Errorf("delay with the top jitter = %v, want 40ms", got)
	}
	if asked != int64(40*time.Millisecond)+1 {
		t.Errorf("jitter range %d, want [0, 40ms]", asked)
	}
	b.jitter = func(int64) int64 { return 0 }
	if got := b.delay(3); got != 0 {
		t.Errorf("delay with the bottom jitter = %v, want 0", got)
	}
}

func TestBackoffDefaultsAndClamp(t *testing.T) {
	b := newBackoff(0, 0)
	if b.initial != DefaultInitialBackoff || b.max != DefaultMaxBackoff {
		t.Errorf("defaults %v/%v", b.initial, b.max)
	}
	b = newBackoff(time.Second, time.Millisecond)
	if b.max != time.Second {
		t.Errorf("max below initial: max = %v, want 1s", b.max)
	}
	b = newBackoff(time.Duration(1<<62), time.Duration(1<<62+1))
	if got := b.ceiling(100); got != time.Duration(1<<62+1) {
		t.Errorf("huge bounds: ceiling = %v", got)
	}
	for range 1000 {
		if d := newBackoff(time.Millisecond, 8*time.Millisecond).delay(50); d < 0 || d > 8*time.Millisecond {
			t.Fatalf("delay %v outside [0, 8ms]", d)
		}
	}
}
