//go:build linux && race

package rawconn

import (
	"runtime"
	"syscall"
	"unsafe"
)

// The race detector does not see what the kernel reads and writes, nor the
// order a socket puts between a write and the read that gets its bytes.
// Package syscall tells it both around every read and write; so does a
// Conn, the order through zero-length calls of package syscall's own
// (which give a socket nothing and take nothing from it), so that a Conn
// and a plain connection at the other end of a socket are in step.

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
func raceWriteStart(fd uintptr, iov []syscall.Iovec) {
	_, _ = syscall.Write(int(fd), nil)
	for _, v := range iov {
		runtime.RaceReadRange(unsafe.Pointer(v.Base), int(v.Len))
	}
}
