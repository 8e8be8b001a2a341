//go:build linux && !386

package rawconn

import (
	"io"
	"math"
	"net"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"google.golang.org/grpc/mem"
)

// maxIov is the most buffers one sendmsg takes (Linux's UIO_MAXIOV).
const maxIov = 1024

// closing is the bit of Conn.calls set once Close has begun.
const closing = 1 << 62

// noDeadline is Conn.deadline when no write deadline is set.
const noDeadline = math.MaxInt64

// epoch is the origin of Conn.deadline: deadlines are kept as the time
// since it, on the monotonic clock.
var epoch = time.Now()

// Conn is a TCP connection whose Read, Write and WriteBuffers are raw
// system calls. Everything else is the wrapped *net.TCPConn's, but for
// Close and the deadlines, which it sees first. A Conn is safe for
// concurrent use, like any net.Conn; it must be closed through its own
// Close, never through the embedded *net.TCPConn's.
//
// A write first goes straight to the socket's descriptor, without the
// runtime's poller and its locks, and only when the socket is full, the
// write deadline has passed or the connection is closing does it go
// through syscall.RawConn, whose poller waits for room and applies the
// deadline. Close waits for the direct calls under way before it closes
// the descriptor, so that no call reaches a descriptor number the system
// has since given to another file.
type Conn struct {
	*net.TCPConn
	rc syscall.RawConn

	// The state of the read in progress, kept in the Conn so that a read
	// allocates nothing; rmu serialises reads.
	rmu    sync.Mutex
	rbuf   []byte         // Read's destination
	pool   mem.BufferPool // ReadOnReady's pool; nil for Read
	size   int            // ReadOnReady's buffer size
	taken  *[]byte        // the buffer ReadOnReady took from pool
	rn     int
	rerr   error
	readFn func(fd uintptr) bool

	// The same for writes; wmu serialises writes.
	wmu     sync.Mutex
	wbufs   *net.Buffers
	one     [1][]byte // Write's buffer, as buffers
	oneBufs net.Buffers
	iov     []syscall.Iovec
	wn      int64
	werr    error
	writeFn func(fd uintptr) bool

	// The direct writes: the descriptor, the direct calls under way (with
	// the closing bit once Close began) and the write deadline (since
	// epoch, noDeadline for none).
	fd       uintptr
	calls    atomic.Int64
	deadline atomic.Int64
}

// Wrap returns c as a *Conn when it is a *net.TCPConn, and c itself
// otherwise.
func Wrap(c net.Conn) net.Conn {
	tc, ok := c.(*net.TCPConn)
	if !ok {
		return c
	}
	rc, err := tc.SyscallConn()
	if err != nil {
		return c
	}
	conn := &Conn{TCPConn: tc, rc: rc}
	if err := rc.Control(func(fd uintptr) { conn.fd = fd }); err != nil {
		return c
	}
	conn.deadline.Store(noDeadline)
	conn.readFn = conn.read
	conn.writeFn = conn.write
	return conn
}

// Close closes the connection once the direct writes under way are done.
func (c *Conn) Close() error {
	c.calls.Or(closing)
	for c.calls.Load() != closing {
		runtime.Gosched() // a direct call is one non-blocking system call
	}
	return c.TCPConn.Close()
}

// SetDeadline sets the read and write deadlines.
func (c *Conn) SetDeadline(t time.Time) error {
	c.setWriteDeadline(t)
	return c.TCPConn.SetDeadline(t)
}

// SetWriteDeadline sets the write deadline.
func (c *Conn) SetWriteDeadline(t time.Time) error {
	c.setWriteDeadline(t)
	return c.TCPConn.SetWriteDeadline(t)
}

// setWriteDeadline keeps t for the direct writes.
func (c *Conn) setWriteDeadline(t time.Time) {
	d := int64(noDeadline)
	if !t.IsZero() {
		d = int64(t.Sub(epoch))
	}
	c.deadline.Store(d)
}

// Read reads up to len(p) bytes, waiting under the read deadline until
// some arrive. At the end of the stream it returns io.EOF.
func (c *Conn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.rbuf = p
	err := c.rc.Read(c.readFn)
	n, rerr := c.rn, c.rerr
	c.rbuf, c.rn, c.rerr = nil, 0, nil
	if err != nil {
		return 0, c.opError("read", err)
	}
	return n, rerr
}

// ReadOnReady waits under the read deadline until input arrives, then
// takes a buffer of bufSize from pool and reads into it. It returns the
// buffer, to be given back to pool by the caller, and the count read; on
// an error or at the end of the stream (io.EOF) no buffer. This is how
// gRPC's HTTP/2 transport reads a connection that offers it.
func (c *Conn) ReadOnReady(bufSize int, pool mem.BufferPool) (*[]byte, int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.pool, c.size = pool, bufSize
	err := c.rc.Read(c.readFn)
	b, n, rerr := c.taken, c.rn, c.rerr
	c.pool, c.taken, c.rn, c.rerr = nil, nil, 0, nil
	if err == nil {
		err = rerr
	} else {
		err = c.opError("read", err)
	}
	if err != nil || n == 0 {
		if b != nil {
			pool.Put(b)
		}
		if err == nil {
			err = io.EOF
		}
		return nil, 0, err
	}
	return b, n, nil
}

// read is the RawConn callback of Read and ReadOnReady: one read, or
// false to wait for input.
func (c *Conn) read(fd uintptr) bool {
	p := c.rbuf
	if c.pool != nil {
		c.taken = c.pool.Get(c.size)
		p = *c.taken
	}
	for {
		n, errno := rawRead(fd, p)
		switch errno {
		case 0:
			c.rn = n
			if n == 0 && c.pool == nil {
				c.rerr = io.EOF
			}
			return true
		case syscall.EINTR:
			continue
		case syscall.EAGAIN:
			if c.pool != nil {
				c.pool.Put(c.taken)
				c.taken = nil
			}
			return false
		default:
			c.rerr = c.opError("read", os.NewSyscallError("read", errno))
			return true
		}
	}
}

// Write writes p, waiting under the write deadline while the socket's
// buffer is full.
func (c *Conn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.one[0] = p
	c.oneBufs = c.one[:]
	n, err := c.writeLocked(&c.oneBufs)
	c.one[0], c.oneBufs = nil, nil
	return int(n), err
}

// WriteBuffers writes the buffers of v, in one sendmsg when the socket
// takes them all, waiting under the write deadline while its buffer is
// full. Like net.Buffers.WriteTo it consumes v: what is left is what was
// not written.
func (c *Conn) WriteBuffers(v *net.Buffers) (int64, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.writeLocked(v)
}

// writeLocked writes v, directly or else through the poller; c.wmu is
// held.
func (c *Conn) writeLocked(v *net.Buffers) (int64, error) {
	c.wbufs = v
	var err error
	if !c.writeDirect() {
		err = c.rc.Write(c.writeFn)
	}
	n, werr := c.wn, c.werr
	c.wbufs, c.wn, c.werr = nil, 0, nil
	clear(c.iov) // keep no buffers alive
	if err != nil {
		return n, c.opError("write", err)
	}
	return n, werr
}

// writeDirect writes straight to the descriptor and reports whether that
// finished the write (all written, or failed). It leaves the write, or
// what is left of it, to the poller when the socket is full, when the
// write deadline has passed (the poller reports the timeout) and once
// Close has begun.
func (c *Conn) writeDirect() bool {
	if d := c.deadline.Load(); d != noDeadline && int64(time.Since(epoch)) >= d {
		return false
	}
	if !c.enter() {
		return false
	}
	done := c.write(c.fd)
	c.exit()
	return done
}

// enter begins a direct call, unless Close has begun.
func (c *Conn) enter() bool {
	if c.calls.Add(1)&closing != 0 {
		c.calls.Add(-1)
		return false
	}
	return true
}

// exit ends a direct call.
func (c *Conn) exit() { c.calls.Add(-1) }

// write writes on fd, directly or as the RawConn callback of writeLocked:
// it writes until everything is written or an error, or returns false to
// wait for room.
func (c *Conn) write(fd uintptr) bool {
	v := c.wbufs
	for {
		c.iov = c.iov[:0]
		for _, b := range *v {
			if len(b) > 0 {
				iov := syscall.Iovec{Base: &b[0]}
				iov.SetLen(len(b))
				c.iov = append(c.iov, iov)
				if len(c.iov) == maxIov {
					break
				}
			}
		}
		if len(c.iov) == 0 {
			consume(v, 0) // drop empty buffers, as WriteTo does
			return true
		}
		n, errno := c.send(fd)
		switch errno {
		case 0:
			c.wn += int64(n)
			consume(v, int64(n))
		case syscall.EINTR:
		case syscall.EAGAIN:
			return false
		default:
			c.werr = c.opError("write", os.NewSyscallError(sendCall(len(c.iov)), errno))
			return true
		}
	}
}

// consume drops the first n bytes of v.
func consume(v *net.Buffers, n int64) {
	for len(*v) > 0 {
		l := int64(len((*v)[0]))
		if l > n {
			(*v)[0] = (*v)[0][n:]
			return
		}
		n -= l
		(*v)[0] = nil
		*v = (*v)[1:]
	}
}

// opError reports err as the *net.OpError a *net.TCPConn's op would
// return: the poller's errors (deadline, closed) come from RawConn named
// "raw-read" and "raw-write".
func (c *Conn) opError(op string, err error) error {
	if oe, ok := err.(*net.OpError); ok {
		oe.Op = op
		return oe
	}
	return &net.OpError{Op: op, Net: "tcp", Source: c.LocalAddr(), Addr: c.RemoteAddr(), Err: err}
}

// rawRead is read(2) into p.
func rawRead(fd uintptr, p []byte) (int, syscall.Errno) {
	r, _, errno := syscall.RawSyscall(syscall.SYS_READ, fd, uintptr(unsafe.Pointer(unsafe.SliceData(p))), uintptr(len(p)))
	if errno == 0 {
		raceReadDone(fd, p[:r])
	}
	return int(r), errno
}

// send sends c.iov on fd: send(2) of a single buffer, sendmsg(2) of
// several. Both go straight to the socket, without the file layer a
// write(2) or writev(2) passes through, and with MSG_NOSIGNAL, so that a
// write to a connection the peer reset fails with EPIPE without raising
// SIGPIPE.
func (c *Conn) send(fd uintptr) (int, syscall.Errno) {
	iov := c.iov
	raceWriteStart(iov)
	if len(iov) == 1 {
		r, _, errno := syscall.RawSyscall6(syscall.SYS_SENDTO, fd, uintptr(unsafe.Pointer(iov[0].Base)), uintptr(iov[0].Len), syscall.MSG_NOSIGNAL, 0, 0)
		return int(r), errno
	}
	msg := syscall.Msghdr{Iov: &iov[0]}
	setLen(&msg.Iovlen, len(iov))
	r, _, errno := syscall.RawSyscall(syscall.SYS_SENDMSG, fd, uintptr(unsafe.Pointer(&msg)), syscall.MSG_NOSIGNAL)
	return int(r), errno
}

// sendCall names the system call send makes for n buffers.
func sendCall(n int) string {
	if n == 1 {
		return "sendto"
	}
	return "sendmsg"
}

// setLen sets a length field of a system call's structure, whose type
// is the system's word.
func setLen[T ~uint32 | ~uint64](field *T, n int) { *field = T(n) }

// WriteBuffers writes v to c like v.WriteTo(c), with one system call through
// a *Conn.
func WriteBuffers(c net.Conn, v *net.Buffers) (int64, error) {
	if rc, ok := c.(*Conn); ok {
		return rc.WriteBuffers(v)
	}
	return v.WriteTo(c)
}

// Vectored reports whether WriteBuffers writes c's buffers in one system
// call rather than one write each.
func Vectored(c net.Conn) bool {
	switch c.(type) {
	case *Conn, *net.TCPConn:
		return true
	}
	return false
}
