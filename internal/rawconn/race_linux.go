//go:build linux && !386 && race

package rawconn

import (
	"runtime"
	"syscall"
	"unsafe"
)

// The race detector does not see what the kernel reads and writes, nor the
// order a socket puts between a write and the read that gets its bytes.
// Package syscall tells it both around every read and write; so does a
// Conn, the order through calls of package syscall's own that move no
// bytes, so that a Conn and a plain connection at the other end of a
// socket are in step: a zero-length read of the socket, and a write on
// no descriptor at all (package syscall tells the detector of a write
// before it makes the call, and a zero-length write to a socket the peer
// reset would raise SIGPIPE).

// raceReadDone tells the race detector that the kernel wrote p and that
// the read comes after the writes whose bytes it got.
func raceReadDone(fd uintptr, p []byte) {
	if len(p) > 0 {
		runtime.RaceWriteRange(unsafe.Pointer(&p[0]), len(p))
	}
	_, _ = syscall.Read(int(fd), nil)
}

// raceWriteStart tells the race detector that the kernel is about to read
// the buffers of iov and that the write comes before the reads that get
// its bytes.
func raceWriteStart(iov []syscall.Iovec) {
	_, _ = syscall.Write(-1, nil)
	for _, v := range iov {
		runtime.RaceReadRange(unsafe.Pointer(v.Base), int(v.Len))
	}
}
