package loadgen

import (
	"fmt"
	"syscall"
)

// ipBindAddressNoPort is the Linux socket option IP_BIND_ADDRESS_NO_PORT:
// a socket bound to a source address gets its port when it connects,
// chosen among those free for the destination, instead of one free for
// every destination. Without it an address runs out of ports at about
// 28 000 connections in all.
const ipBindAddressNoPort = 24

// bindNoPort sets IP_BIND_ADDRESS_NO_PORT on a socket about to be bound.
func bindNoPort(_, _ string, c syscall.RawConn) error {
	var serr error
	if err := c.Control(func(fd uintptr) {
		serr = syscall.SetsockoptInt(int(fd), syscall.IPPROTO_IP, ipBindAddressNoPort, 1)
	}); err != nil {
		return err
	}
	return serr
}

// checkFileLimit makes sure the process may open need file descriptors,
// raising its soft limit up to the hard one if that is enough.
func checkFileLimit(need int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("loadgen: reading the file descriptor limit: %w", err)
	}
	if lim.Cur >= uint64(need) {
		return nil
	}
	if lim.Max < uint64(need) {
		return fmt.Errorf("%w: %d connections need about %d file descriptors, but the limit is %d: raise it (ulimit -n %d)",
			ErrInvalidConfig, need-fileLimitSlack, need, lim.Max, need)
	}
	lim.Cur = uint64(need)
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("loadgen: raising the file descriptor limit to %d: %w", need, err)
	}
	return nil
}
