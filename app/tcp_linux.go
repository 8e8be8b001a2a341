//go:build linux

package app

import (
	"syscall"
	"time"
)

// tcpUserTimeout is Linux's TCP_USER_TIMEOUT socket option (linux/tcp.h),
// which the syscall package does not name.
const tcpUserTimeout = 0x12

// setUserTimeout makes the kernel abort a connection whose sent data stays
// unacknowledged for d, and returns the error of setting it. Accepted
// connections inherit it from their listening socket.
func setUserTimeout(c syscall.RawConn, d time.Duration) error {
	var err error
	ctlErr := c.Control(func(fd uintptr) {
		err = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout, int(d.Milliseconds()))
	})
	if ctlErr != nil {
		return ctlErr
	}
	return err
}

// userTimeout reads TCP_USER_TIMEOUT of a socket, for tests.
func userTimeout(c syscall.RawConn) (time.Duration, error) {
	var ms int
	var err error
	ctlErr := c.Control(func(fd uintptr) {
		ms, err = syscall.GetsockoptInt(int(fd), syscall.IPPROTO_TCP, tcpUserTimeout)
	})
	if ctlErr != nil {
		return 0, ctlErr
	}
	return time.Duration(ms) * time.Millisecond, err
}
