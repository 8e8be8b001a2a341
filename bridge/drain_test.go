package bridge

import (
	"context"
	"testing"
)

func TestWaitDrained(t *testing.T) {
	t.Parallel()
	drained := make(chan struct{})
	ended, cancel := context.WithCancel(t.Context())
	cancel()
	if err := WaitDrained(ended, drained); err != context.Canceled {
		t.Fatalf("not drained, context ended: %v, want Canceled", err)
	}
	close(drained)
	// Both ready: drained wins, every time.
	for i := range 100 {
		if err := WaitDrained(ended, drained); err != nil {
			t.Fatalf("call %d, drained and context ended: %v, want nil", i, err)
		}
	}
	if err := WaitDrained(t.Context(), drained); err != nil {
		t.Fatalf("drained: %v", err)
	}
}
