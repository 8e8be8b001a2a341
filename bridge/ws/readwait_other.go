//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd)

package ws

import "net"

// newReadWaiter returns nil: on this system the reader waits for input
// inside the frame parser.
func newReadWaiter(net.Conn) func() error { return nil }
