// Package rawconn wraps accepted and dialled TCP connections so that their
// reads and writes are raw non-blocking system calls, made without the Go
// scheduler's system-call bookkeeping, and so that several buffers go out
// in one system call.
//
// Go's sockets are non-blocking: a read or write either moves bytes at
// once or reports EAGAIN, and the runtime's poller does the waiting. The
// bookkeeping around each call (entersyscall, exitsyscall) exists for
// calls that may block, and it has a cost a push server pays on every
// delivery: when the process was idle, the first call of a burst wakes
// the runtime's monitor thread (sysmon) from its deep sleep and resets it
// to checking every 20 microseconds, which for a server woken by each
// published message means thousands of extra thread wake-ups a second. A
// Conn's reads go through syscall.RawConn, so the poller, the deadlines
// and Close behave exactly as for the *net.TCPConn it wraps; only the call
// itself is made with syscall.RawSyscall. Its writes go straight to the
// descriptor first, sparing the poller's locks and state on the common
// path where the socket has room, and through syscall.RawConn when it has
// not, when the write deadline has passed, or once Close has begun (Close
// waits for direct writes under way before it closes the descriptor).
//
// A Conn also reads for gRPC's HTTP/2 transport the way gRPC reads a bare
// *net.TCPConn: it waits for input before taking a read buffer from the
// transport's pool (ReadOnReady), so that an idle gRPC connection holds
// no read buffer.
//
// Writes are send(2) and sendmsg(2) rather than write(2) and writev(2):
// they go straight to the socket, sparing a delivery the file layer's
// checks and notifications, and with MSG_NOSIGNAL a write to a
// connection its peer reset fails without raising SIGPIPE.
//
// Only Linux gets Conns, and on 32-bit x86 not even it (its socket calls
// go through socketcall(2)); elsewhere Wrap and Listener return what they
// are given. Race-detector builds annotate each call the way package syscall
// does, so that data handed between goroutines through a socket is seen
// as synchronised.
package rawconn
