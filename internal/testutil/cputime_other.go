//go:build !unix

package testutil

import (
	"testing"
	"time"
)

// CPUTime skips tb: the process's CPU time is read with getrusage, which
// this system lacks.
func CPUTime(tb testing.TB) time.Duration {
	tb.Helper()
	tb.Skip("the process's CPU time is read with getrusage, which this system lacks")
	return 0
}
