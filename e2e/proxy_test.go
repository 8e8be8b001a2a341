package e2e

import (
	"io"
	"net"
	"sync"
	"testing"
)

// gate is a TCP proxy in front of a node, as a load balancer would be. The
// browser keeps one address while the node behind it is stopped and started
// again, and the test decides when the browser's new connections get
// through: while the gate is held, connections are accepted and wait. All
// browser traffic of the node tests goes through a gate, which also keeps
// the browser's spare connections away from the node (see pipe).
type gate struct {
	t       *testing.T
	ln      net.Listener
	backend string

	mu      sync.Mutex
	open    chan struct{} // closed while the gate lets connections through
	held    int           // connections waiting at the gate
	conns   map[net.Conn]struct{}
	closed  bool
	serving sync.WaitGroup
}

// newGate starts an open gate to backend on a free loopback port. It stops
// when the test ends.
func newGate(t *testing.T, backend string) *gate {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gate{t: t, ln: ln, backend: backend, open: make(chan struct{}), conns: map[net.Conn]struct{}{}}
	close(g.open)
	g.serving.Add(1)
	go g.accept()
	t.Cleanup(g.close)
	return g
}

// URL is the gate's base URL.
func (g *gate) URL() string { return "http://" + g.ln.Addr().String() }

// hold makes new connections wait until release.
func (g *gate) hold() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
		g.open = make(chan struct{})
	default: // already held: the waiting connections keep their channel
	}
}

// release lets the waiting and later connections through.
func (g *gate) release() {
	g.mu.Lock()
	defer g.mu.Unlock()
	select {
	case <-g.open:
	default:
		close(g.open)
	}
}

// waiting returns how many connections wait at the gate.
func (g *gate) waiting() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.held
}

func (g *gate) accept() {
	defer g.serving.Done()
	for {
		c, err := g.ln.Accept()
		if err != nil {
			return
		}
		if !g.track(c) {
			_ = c.Close()
			return
		}
		g.serving.Add(1)
		go g.pipe(c)
	}
}

// track registers a connection, or reports false once the gate is closed.
func (g *gate) track(c net.Conn) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.closed {
		return false
	}
	g.conns[c] = struct{}{}
	return true
}

func (g *gate) untrack(cs ...net.Conn) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, c := range cs {
		delete(g.conns, c)
	}
}

func (g *gate) pipe(c net.Conn) {
	defer g.serving.Done()
	defer g.untrack(c)
	defer c.Close()

	// The backend is dialled once the browser sends something: browsers
	// open connections ahead of need, and an unused one would hold up the
	// node's graceful shutdown (http.Server waits for new connections).
	first := make([]byte, 32<<10)
	n, err := c.Read(first)
	if err != nil {
		return
	}

	g.mu.Lock()
	open := g.open
	g.held++
	g.mu.Unlock()
	<-open // close opens the gate too; then c is closed and the copy ends at once
	g.mu.Lock()
	g.held--
	g.mu.Unlock()

	b, err := net.Dial("tcp", g.backend)
	if err != nil {
		return // the node is down: the browser sees the connection close
	}
	if !g.track(b) {
		_ = b.Close()
		return
	}
	defer g.untrack(b)
	defer b.Close()
	if _, err := b.Write(first[:n]); err != nil {
		return
	}
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		// Either side ending ends both: a half-open proxy would hide
		// the node's close from the browser.
		_ = dst.Close()
		_ = src.Close()
		done <- struct{}{}
	}
	go cp(b, c)
	go cp(c, b)
	<-done
	<-done
}

// close stops the gate and closes every connection through it.
func (g *gate) close() {
	g.mu.Lock()
	g.closed = true
	for c := range g.conns {
		_ = c.Close()
	}
	select {
	case <-g.open:
	default:
		close(g.open)
	}
	g.mu.Unlock()
	_ = g.ln.Close()
	g.serving.Wait()
}
