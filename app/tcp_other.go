//go:build !linux

package app

import (
	"syscall"
	"time"
)

// setUserTimeout does nothing where TCP_USER_TIMEOUT does not exist: dead
// peers are then noticed by TCP keepalive and retransmission limits.
func setUserTimeout(syscall.RawConn, time.Duration) error { return nil }

// userTimeout reports no timeout.
func userTimeout(syscall.RawConn) (time.Duration, error) { return 0, nil }
