package client

import (
	"math/rand/v2"
	"time"
)

// Backoff defaults, used when WithBackoff is not given or given zeros.
const (
	// DefaultInitialBackoff bounds the wait before the first retry.
	DefaultInitialBackoff = 100 * time.Millisecond
	// DefaultMaxBackoff bounds the wait before any retry.
	DefaultMaxBackoff = 10 * time.Second
)

// backoff computes retry delays: exponential growth of the bound from
// initial, doubling per attempt up to max, with full jitter (a uniform delay
// between zero and the bound), so that many clients dropped at once by a
// restarting server do not reconnect in lockstep.
type backoff struct {
	initial, max time.Duration
	// jitter returns a uniform value in [0, n); rand.Int64N unless a test
	// needs determinism.
	jitter func(n int64) int64
}

func newBackoff(initial, maxDelay time.Duration) backoff {
	if initial <= 0 {
		initial = DefaultInitialBackoff
	}
	if maxDelay <= 0 {
		maxDelay = DefaultMaxBackoff
	}
	maxDelay = max(maxDelay, initial)
	return backoff{initial: initial, max: maxDelay, jitter: rand.Int64N}
}

// ceiling is the largest delay of the given attempt (1 for the first
// retry): initial·2^(attempt-1), capped at max.
func (b backoff) ceiling(attempt int) time.Duration {
	d := b.initial
	for i := 1; i < attempt; i++ {
		if d > b.max/2 {
			return b.max
		}
		d *= 2
	}
	return min(d, b.max)
}

// delay is a random wait in [0, ceiling(attempt)].
func (b backoff) delay(attempt int) time.Duration {
	return time.Duration(b.jitter(int64(b.ceiling(attempt)) + 1))
}
