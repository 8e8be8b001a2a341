//go:build linux && !386

package rawconn

import (
	"bytes"
	"errors"
	"io"
	"net"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/heraldhq/herald/internal/testutil"
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}

// testTimeout bounds every wait of a test.
const testTimeout = 20 * time.Second

// pair returns the two ends of a loopback TCP connection: server accepted
// through Listener, client a plain *net.TCPConn. Both close when the test
// ends.
func pair(t *testing.T) (server *Conn, client *net.TCPConn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := Listener(ln).Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
		}
		accepted <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc := <-accepted
	if sc == nil {
		t.FailNow()
	}
	t.Cleanup(func() {
		_ = sc.Close()
		_ = cc.Close()
	})
	conn, ok := sc.(*Conn)
	if !ok {
		t.Fatalf("Listener accepted a %T, want *Conn", sc)
	}
	return conn, cc.(*net.TCPConn)
}

// pattern returns n bytes that show where a misplaced one came from.
func pattern(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*7 + i/251)
	}
	return b
}

// opErr fails unless err is a *net.OpError for op that wraps want.
func opErr(t *testing.T, err error, op string, want error) {
	t.Helper()
	var oe *net.OpError
	if !errors.As(err, &oe) || oe.Op != op || !errors.Is(err, want) {
		t.Fatalf("got %#v (%v), want a %q *net.OpError wrapping %v", err, err, op, want)
	}
}

func TestWrapLeavesOtherConnsAlone(t *testing.T) {
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	if got := Wrap(a); got != a {
		t.Fatalf("Wrap(pipe) = %T, want the pipe", got)
	}
	if Vectored(a) {
		t.Fatal("a pipe writes one buffer a call")
	}
}

func TestReadWriteBothWays(t *testing.T) {
	s, c := pair(t)
	if !Vectored(s) || !Vectored(c) {
		t.Fatal("TCP connections write vectors")
	}
	if s.LocalAddr().String() != c.RemoteAddr().String() {
		t.Fatalf("addresses: %v vs %v", s.LocalAddr(), c.RemoteAddr())
	}
	want := pattern(100_000)
	go func() {
		if _, err := c.Write(want); err != nil {
			t.Errorf("client Write: %v", err)
		}
		_ = c.CloseWrite()
	}()
	_ = s.SetReadDeadline(time.Now().Add(testTimeout))
	got, err := io.ReadAll(s)
	if err != nil {
		t.Fatalf("ReadAll: %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read %d bytes, not what was written", len(got))
	}
	if n, err := s.Read(make([]byte, 8)); n != 0 || err != io.EOF {
		t.Fatalf("Read at the end = %d, %v; want 0, EOF", n, err)
	}
	if n, err := s.Read(nil); n != 0 || err != nil {
		t.Fatalf("empty Read = %d, %v", n, err)
	}

	if n, err := s.Write([]byte("back")); n != 4 || err != nil {
		t.Fatalf("Write = %d, %v", n, err)
	}
	b := make([]byte, 4)
	_ = c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := io.ReadFull(c, b); err != nil || string(b) != "back" {
		t.Fatalf("client read %q, %v", b, err)
	}
}

// TestWriteBuffersWhileThePeerIsSlow writes more buffers than one sendmsg
// takes and more bytes than the socket holds, to a peer that reads slowly:
// the writes wait for room and go on where they stopped.
func TestWriteBuffersWhileThePeerIsSlow(t *testing.T) {
	s, c := pair(t)
	if err := s.SetWriteBuffer(8 << 10); err != nil {
		t.Fatal(err)
	}
	var want []byte
	var v net.Buffers
	for i := range 3000 {
		b := pattern(1 + i%300)
		if i%500 == 0 {
			v = append(v, nil) // empty buffers are skipped
		}
		v = append(v, b)
		want = append(want, b...)
	}
	big := pattern(512 << 10)
	v = append(v, big)
	want = append(want, big...)

	got := make(chan []byte, 1)
	go func() {
		var buf bytes.Buffer
		b := make([]byte, 4096)
		_ = c.SetReadDeadline(time.Now().Add(testTimeout))
		for buf.Len() < len(want) {
			n, err := c.Read(b)
			buf.Write(b[:n])
			if err != nil {
				t.Errorf("client Read: %v", err)
				break
			}
			if buf.Len() < 64<<10 {
				time.Sleep(time.Millisecond) // slow at first: the socket fills
			}
		}
		got <- buf.Bytes()
	}()
	_ = s.SetWriteDeadline(time.Now().Add(testTimeout))
	n, err := WriteBuffers(s, &v)
	if err != nil || n != int64(len(want)) || len(v) != 0 {
		t.Fatalf("WriteBuffers = %d, %v with %d buffers left; want %d, nil, none", n, err, len(v), len(want))
	}
	if !bytes.Equal(<-got, want) {
		t.Fatal("the peer did not get the buffers' bytes in order")
	}
}

func TestWriteDeadlineLeavesTheRest(t *testing.T) {
	s, _ := pair(t) // the client never reads
	if err := s.SetWriteBuffer(8 << 10); err != nil {
		t.Fatal(err)
	}
	total := 0
	var v net.Buffers
	for range 64 {
		b := pattern(64 << 10)
		v = append(v, b)
		total += len(b)
	}
	_ = s.SetWriteDeadline(time.Now().Add(50 * time.Millisecond))
	n, err := s.WriteBuffers(&v)
	opErr(t, err, "write", os.ErrDeadlineExceeded)
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("%v is not a timeout", err)
	}
	left := 0
	for _, b := range v {
		left += len(b)
	}
	if n <= 0 || int(n)+left != total {
		t.Fatalf("wrote %d and left %d of %d", n, left, total)
	}
}

func TestReadDeadline(t *testing.T) {
	s, _ := pair(t)
	_ = s.SetReadDeadline(time.Now().Add(20 * time.Millisecond))
	n, err := s.Read(make([]byte, 10))
	if n != 0 {
		t.Fatalf("read %d bytes from nothing", n)
	}
	opErr(t, err, "read", os.ErrDeadlineExceeded)
}

func TestClosed(t *testing.T) {
	s, _ := pair(t)
	_ = s.Close()
	_, err := s.Read(make([]byte, 1))
	opErr(t, err, "read", net.ErrClosed)
	_, err = s.Write([]byte("x"))
	opErr(t, err, "write", net.ErrClosed)
}

// TestCloseEndsAWaitingRead closes a connection while a read waits on
// it: the read returns, as it would on a *net.TCPConn.
func TestCloseEndsAWaitingRead(t *testing.T) {
	s, _ := pair(t)
	done := make(chan error, 1)
	go func() {
		_, err := s.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(10 * time.Millisecond)
	_ = s.Close()
	select {
	case err := <-done:
		opErr(t, err, "read", net.ErrClosed)
	case <-time.After(testTimeout):
		t.Fatal("Read still waits after Close")
	}
}

// TestPeerReset writes to a connection its peer reset, with one buffer
// (send) and with several (sendmsg), until the write fails and once more:
// the errors are the system call's, and no write raises SIGPIPE, which a
// write to a connection the peer has reset would raise without
// MSG_NOSIGNAL.
func TestPeerReset(t *testing.T) {
	sigpipe := make(chan os.Signal, 1)
	signal.Notify(sigpipe, syscall.SIGPIPE)
	defer signal.Stop(sigpipe)
	for _, tc := range []struct {
		name    string
		write   func(*Conn) error
		syscall string
	}{
		{"one buffer", func(c *Conn) error { _, err := c.Write([]byte("x")); return err }, "sendto"},
		{"buffers", func(c *Conn) error {
			v := net.Buffers{[]byte("x"), []byte("y")}
			_, err := c.WriteBuffers(&v)
			return err
		}, "sendmsg"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, c := pair(t)
			_ = c.SetLinger(0)
			_ = c.Close() // RST
			_ = s.SetDeadline(time.Now().Add(testTimeout))
			var err error
			for err == nil { // the first write may go out before the reset is seen
				err = tc.write(s)
			}
			var se *os.SyscallError
			if !errors.As(err, &se) || se.Syscall != tc.syscall {
				t.Fatalf("got %v, want the %s's error", err, tc.syscall)
			}
			if !errors.Is(err, syscall.ECONNRESET) && !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("got %v, want a reset or broken pipe", err)
			}
			opErr(t, err, "write", se)
			// The write after the reset's error is the broken pipe's.
			if err := tc.write(s); !errors.Is(err, syscall.EPIPE) {
				t.Fatalf("second write: got %v, want a broken pipe", err)
			}
			if _, err := s.Read(make([]byte, 1)); err == nil {
				t.Fatal("Read after a reset did not fail")
			}
		})
	}
	// A signal raised by a system call is delivered as it returns, so the
	// runtime has it by now; give its forwarding a moment.
	select {
	case <-sigpipe:
		t.Fatal("a write to a reset connection raised SIGPIPE")
	case <-time.After(100 * time.Millisecond):
	}
}

// countingPool is a gRPC buffer pool that counts what is out.
type countingPool struct {
	mu   sync.Mutex
	out  int
	gets int
}

func (p *countingPool) Get(n int) *[]byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out++
	p.gets++
	b := make([]byte, n)
	return &b
}

func (p *countingPool) Put(*[]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out--
}

func (p *countingPool) counts() (out, gets int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.out, p.gets
}

// TestReadOnReadyHoldsNoBufferWhileWaiting checks the read gRPC's HTTP/2
// transport makes: no buffer is out while it waits for input, and one
// with the input comes back when it arrives; at the end of the stream
// io.EOF and no buffer.
func TestReadOnReadyHoldsNoBufferWhileWaiting(t *testing.T) {
	s, c := pair(t)
	pool := &countingPool{}
	type result struct {
		b   *[]byte
		n   int
		err error
	}
	res := make(chan result, 1)
	read := func() {
		b, n, err := s.ReadOnReady(64, pool)
		res <- result{b, n, err}
	}
	go read()
	time.Sleep(20 * time.Millisecond) // the read is waiting
	if out, _ := pool.counts(); out != 0 {
		t.Fatalf("%d buffers out while waiting for input", out)
	}
	if _, err := c.Write([]byte("hello")); err != nil {
		t.Fatal(err)
	}
	r := <-res
	if r.err != nil || r.n != 5 || string((*r.b)[:r.n]) != "hello" || len(*r.b) != 64 {
		t.Fatalf("ReadOnReady = %d, %v", r.n, r.err)
	}
	if out, _ := pool.counts(); out != 1 {
		t.Fatalf("%d buffers out, want the one returned", out)
	}
	pool.Put(r.b)

	_ = c.CloseWrite()
	go read()
	r = <-res
	if r.b != nil || r.n != 0 || r.err != io.EOF {
		t.Fatalf("ReadOnReady at the end = %v, %d, %v; want nil, 0, EOF", r.b, r.n, r.err)
	}
	if out, gets := pool.counts(); out != 0 || gets < 2 {
		t.Fatalf("%d buffers out after %d taken", out, gets)
	}

	_ = s.SetReadDeadline(time.Now().Add(-time.Second))
	b, n, err := s.ReadOnReady(64, pool)
	if b != nil || n != 0 {
		t.Fatalf("ReadOnReady past the deadline returned %d bytes", n)
	}
	opErr(t, err, "read", os.ErrDeadlineExceeded)
	if out, _ := pool.counts(); out != 0 {
		t.Fatalf("%d buffers out after a failed read", out)
	}
}

// TestConcurrentUse writes from several goroutines at once and reads from
// two, as a net.Conn allows: every write arrives whole (each is one
// call on a blocking-free socket), and the race detector sees no race.
func TestConcurrentUse(t *testing.T) {
	s, c := pair(t)
	const writers, writes, size = 4, 200, 512
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			b := bytes.Repeat([]byte{byte('a' + w)}, size)
			for range writes {
				v := net.Buffers{b[:size/2], b[size/2:]}
				if _, err := s.WriteBuffers(&v); err != nil {
					t.Errorf("WriteBuffers: %v", err)
					return
				}
			}
		})
	}
	counts := make(map[byte]int)
	b := make([]byte, size)
	_ = c.SetReadDeadline(time.Now().Add(testTimeout))
	for range writers * writes {
		if _, err := io.ReadFull(c, b); err != nil {
			t.Fatalf("client read: %v", err)
		}
		if !bytes.Equal(b, bytes.Repeat(b[:1], size)) {
			t.Fatal("writes were interleaved")
		}
		counts[b[0]]++
	}
	wg.Wait()
	for w := range writers {
		if counts[byte('a'+w)] != writes {
			t.Fatalf("writer %d: %d writes arrived, want %d", w, counts[byte('a'+w)], writes)
		}
	}

	// Two readers at once share what arrives.
	var got sync.Map
	var rg sync.WaitGroup
	_ = s.SetReadDeadline(time.Now().Add(testTimeout))
	for range 2 {
		rg.Go(func() {
			b := make([]byte, 1)
			for {
				if _, err := s.Read(b); err != nil {
					return
				}
				got.Store(b[0], true)
			}
		})
	}
	if _, err := c.Write([]byte("0123456789")); err != nil {
		t.Fatal(err)
	}
	_ = c.CloseWrite()
	rg.Wait()
	for _, d := range []byte("0123456789") {
		if _, ok := got.Load(d); !ok {
			t.Fatalf("byte %q was not read", d)
		}
	}
}

// TestHandOverThroughTheSocket hands data from one goroutine to another
// with nothing but bytes on a socket in between, the way a client and a
// server in one test process do: the race detector must see the write
// and the read as ordered (it fails the test otherwise).
func TestHandOverThroughTheSocket(t *testing.T) {
	s, c := pair(t)
	shared := 0
	go func() {
		shared = 42
		_, _ = c.Write([]byte{1}) // a plain connection's write
	}()
	b := make([]byte, 1)
	_ = s.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := s.Read(b); err != nil {
		t.Fatal(err)
	}
	if shared != 42 {
		t.Fatal("the write before the socket's was not seen")
	}

	go func() {
		shared = 43
		v := net.Buffers{{2}}
		_, _ = s.WriteBuffers(&v) // a Conn's write
	}()
	_ = c.SetReadDeadline(time.Now().Add(testTimeout))
	if _, err := c.Read(b); err != nil {
		t.Fatal(err)
	}
	if shared != 43 {
		t.Fatal("the write before the socket's was not seen")
	}
}

// TestWriteAfterTheDeadlineTimesOut: a write deadline that has passed
// fails a write at once, room in the socket or not, as on a
// *net.TCPConn, and writes nothing.
func TestWriteAfterTheDeadlineTimesOut(t *testing.T) {
	s, c := pair(t)
	_ = s.SetWriteDeadline(time.Now().Add(-time.Second))
	v := net.Buffers{[]byte("late")}
	n, err := s.WriteBuffers(&v)
	opErr(t, err, "write", os.ErrDeadlineExceeded)
	if n != 0 || len(v) != 1 {
		t.Fatalf("wrote %d bytes past the deadline", n)
	}
	_, err = s.Write([]byte("late"))
	opErr(t, err, "write", os.ErrDeadlineExceeded)
	_ = s.SetDeadline(time.Time{})
	if _, err := s.Write([]byte("on time")); err != nil {
		t.Fatalf("a write with the deadline cleared: %v", err)
	}
	b := make([]byte, 16)
	_ = c.SetReadDeadline(time.Now().Add(testTimeout))
	if n, err := c.Read(b); err != nil || string(b[:n]) != "on time" {
		t.Fatalf("the peer read %q, %v; want only the write on time", b[:n], err)
	}
}

// TestCloseWaitsForDirectWrites: Close does not close the descriptor
// while a direct write is under way (the system could give its number to
// another file, which the write would then reach), and no direct write
// begins once Close has: writes from then on go through the poller,
// which reports the connection closed.
func TestCloseWaitsForDirectWrites(t *testing.T) {
	s, _ := pair(t)
	if !s.enter() {
		t.Fatal("a direct write could not begin on an open connection")
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Wait until Close has begun (it marks the connection closing), then
	// give it a moment in which it must not return.
	for deadline := time.Now().Add(testTimeout); s.calls.Load()&closing == 0; {
		if time.Now().After(deadline) {
			t.Fatal("Close did not begin")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-closed:
		t.Fatalf("Close returned (%v) while a direct write was under way", err)
	case <-time.After(50 * time.Millisecond):
	}
	if s.enter() {
		t.Fatal("a direct write began after Close had")
	}
	s.exit()
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, err := s.Write([]byte("x"))
	opErr(t, err, "write", net.ErrClosed)
}

// TestWritesAllocateNothing: a write of one buffer or of several, to a
// socket with room, allocates nothing (a push server makes one per
// delivery batch).
func TestWritesAllocateNothing(t *testing.T) {
	s, c := pair(t)
	go func() { _, _ = io.Copy(io.Discard, c) }()
	one, two := []byte("one"), []byte("two")
	backing := make(net.Buffers, 2)
	var v net.Buffers // what WriteBuffers consumes: refilled from backing
	if n := testing.AllocsPerRun(200, func() {
		if _, err := s.Write(one); err != nil {
			t.Fatal(err)
		}
		backing[0], backing[1] = one, two
		v = backing
		if _, err := s.WriteBuffers(&v); err != nil {
			t.Fatal(err)
		}
	}); n != 0 {
		t.Fatalf("%v allocations per write", n)
	}
}
