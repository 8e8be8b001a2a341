//go:build !linux

package loadgen

import "syscall"

// bindNoPort does nothing where IP_BIND_ADDRESS_NO_PORT does not exist.
func bindNoPort(_, _ string, _ syscall.RawConn) error { return nil }

// checkFileLimit leaves the file descriptor limit to the system.
func checkFileLimit(int) error { return nil }
