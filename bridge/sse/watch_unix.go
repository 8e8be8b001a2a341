//go:build unix

package sse

import "syscall"

// awaitEnd waits until the client ends its side of the connection, or
// the connection fails or is closed, reading and dropping whatever the
// client sends. It reports whether the client ended it (or the
// connection failed), rather than Close. The goroutine parks in the
// runtime's poller, in a shallow call, and keeps no read buffer while it
// waits.
func (hc *hijacked) awaitEnd() bool {
	sc, ok := hc.conn.(syscall.Conn)
	if !ok {
		return hc.readUntilEnd()
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return hc.readUntilEnd()
	}
	return raw.Read(drainUntilEnd) == nil
}

// drainUntilEnd is the read callback of awaitEnd: it reads and drops what
// the client sent, and reports true (done) at the end of its stream or on
// an error, false (wait for more input) otherwise.
func drainUntilEnd(fd uintptr) bool {
	var b [128]byte
	for {
		n, err := syscall.Read(int(fd), b[:])
		switch {
		case err == syscall.EINTR:
			continue
		case err == syscall.EAGAIN || err == syscall.EWOULDBLOCK:
			return false
		case err != nil || n == 0:
			return true
		}
	}
}
