//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd

package ws

import (
	"net"
	"syscall"
)

// newReadWaiter returns a function that blocks until conn has input (or
// an error, or its read deadline passes) without consuming any, or nil
// when conn offers no file descriptor to wait on.
//
// The reader waits with it before each frame, so that an idle connection
// parks in a shallow call rather than deep inside the frame parser: the
// garbage collector then shrinks the reader's stack to the minimum, which
// is most of the memory an idle connection costs. The peek is one
// non-blocking recv with MSG_PEEK; the runtime's poller does the waiting,
// under the read deadline.
func newReadWaiter(conn net.Conn) func() error {
	sc, ok := conn.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	return func() error {
		return rc.Read(func(fd uintptr) bool {
			var b [1]byte
			_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			// Anything but "nothing yet" means a read will not block:
			// input, end of stream, or an error for the read to report.
			return err != syscall.EAGAIN && err != syscall.EWOULDBLOCK && err != syscall.EINTR
		})
	}
}
