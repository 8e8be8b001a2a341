//go:build !linux || 386

package rawconn

import "net"

// Wrap returns c: only Linux, but for 32-bit x86, gets raw connections.
func Wrap(c net.Conn) net.Conn { return c }

// WriteBuffers writes v to c like v.WriteTo(c).
func WriteBuffers(c net.Conn, v *net.Buffers) (int64, error) { return v.WriteTo(c) }

// Vectored reports whether WriteBuffers writes c's buffers in one system
// call rather than one write each.
func Vectored(c net.Conn) bool {
	_, ok := c.(*net.TCPConn)
	return ok
}
