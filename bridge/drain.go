package bridge

import "context"

// WaitDrained waits until drained is closed or ctx ends, for a
// transport's Shutdown: it returns nil once drained, ctx's error
// otherwise. When both have happened it returns nil, so that a transport
// with nothing left to wait for never reports a timeout.
func WaitDrained(ctx context.Context, drained <-chan struct{}) error {
	select {
	case <-drained:
		return nil
	case <-ctx.Done():
	}
	select {
	case <-drained:
		return nil
	default:
		return ctx.Err()
	}
}
