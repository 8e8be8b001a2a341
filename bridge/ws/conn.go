package ws

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/auth"
	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/internal/rawconn"
	"github.com/heraldhq/herald/internal/refusal"
	"github.com/heraldhq/herald/limits"
)

// signal is a set of reasons to wake the writer.
type signal uint32

const (
	sigTimer signal = 1 << iota // the connection's timer fired
	sigInbox                    // a client frame waits in the inbox
	sigEnd                      // the connection must end

	// endedFlag, in conn.flags beside the pending signals, says that the
	// connection was told to end.
	endedFlag = 1 << 31
)

// conn is one WebSocket connection: a reader goroutine (readLoop) and a
// writer goroutine (writeLoop). The writer is the only goroutine that
// writes to raw; it also owns the subscription and every field marked
// writer-owned. Everyone else asks it for things with signal, post and
// end.
//
// Lock order: conn.mu is a leaf; nothing is called with it held.
type conn struct {
	h        *Handler
	ws       *websocket.Conn // read side only
	rc       *readConn       // what ws is built on
	br       *bufio.Reader   // ws's read buffer; nil if gorilla made its own
	raw      net.Conn        // written by the writer only
	interval time.Duration   // Ping and heartbeat interval
	remote   string
	release  func() // gives the connection's slot of the connection limit back

	// ctx ends when the connection is told to end; it bounds subscription
	// changes.
	ctx    context.Context
	cancel context.CancelFunc

	inbox    chan *request // reader → writer, bounded by inboxLen
	wake     chan struct{} // one-slot wake-up of a writer without subscription
	readDone chan struct{} // closed when the reader returns
	timer    *time.Timer   // the one timer: Pings, heartbeats, coalescing; made by begin

	closeOnce sync.Once

	// flags holds the pending signals and endedFlag: an atomic word, so
	// that the writer's checks between batches take no lock.
	flags atomic.Uint32

	mu       sync.Mutex
	waitOn   bridge.Subscription // the writer's subscription, woken by signal; nil when none
	disc     disconnect          // why it ends, once ended
	unreadIn bool                // the reader stopped with client input left unread

	// Writer-owned.
	id            *auth.Identity   // whom the connection acts for (see access.go)
	stopExpiry    func() bool      // stops the end at the identity's expiry
	rate          *limits.ConnRate // the rate of subscribe, unsubscribe and auth frames
	sub           bridge.Subscription
	topics        []string  // the subscription's normalised topics
	last          engine.ID // the newest message written
	base          string    // the position before any message was written
	evs           []engine.Event
	b             *batch      // frames waiting to be written; nil when none
	bufs          net.Buffers // the part of b being written
	tail          []byte      // the rest of a frame cut off by a write timeout
	broken        bool        // a write failed: nothing more may be written
	nextPing      time.Time
	lastData      time.Time   // when a frame browser code sees was last written
	pace          bridge.Pace // the coalescing window, the subscription's Postponer
	writeDeadline time.Time   // the deadline set for writes
	armedAt       time.Time   // when the timer is set to fire; zero once it fired (see armAt)
	strikes       int         // malformed or refused frames since strikeStart
	strikeStart   time.Time

	// renew asks the writer to go on as a new goroutine, which starts
	// with a minimal stack. Writing grows the writer's stack, and only a
	// garbage collection shrinks it again, which an idle server rarely
	// runs: without renewal an idle connection would keep a stack twice
	// the size. Set after the first write and with every Ping.
	renew bool
}

// newConn returns a connection for an upgraded ws over raw, with sub (nil
// when the handshake named no topic), the identity the handshake was
// admitted with and the release of its connection slot, and the position
// given by the handshake.
func newConn(h *Handler, ws *websocket.Conn, hw *hijackWriter, sub bridge.Subscription, id *auth.Identity, release func(), interval time.Duration, lastEventID string) *conn {
	c := &conn{
		h:        h,
		ws:       ws,
		rc:       hw.rc,
		br:       hw.br,
		raw:      hw.raw,
		interval: interval,
		remote:   hw.raw.RemoteAddr().String(),
		release:  release,
		id:       id,
		rate:     h.access.Limits().NewConnRate(),
		inbox:    make(chan *request, inboxLen),
		wake:     make(chan struct{}, 1),
		readDone: make(chan struct{}),
		sub:      sub,
		waitOn:   sub,
		base:     lastEventID,
		pace:     bridge.NewPace(h.wheel),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	if sub != nil {
		c.pace.Attach(sub)
		s := sub.Subscribed()
		c.topics = s.Topics
		if c.base == "" {
			c.base = s.CurrentID
		}
	}
	return c
}

// start runs the connection's goroutines and the watch of its
// credential's expiry.
func (c *conn) start() {
	c.rc.upgraded = true
	c.watchExpiry()
	go c.readLoop()
	go c.writeLoop()
}

// signal wakes the writer for s: through the Ready channel of the
// subscription it waits on, or through wake when it has none. Either way
// a token is left unless one already waits.
//
// The signal is recorded before waitOn is read under mu: a writer that
// has just switched subscriptions either is woken on the new one or, the
// mutex ordering its switch after this read, sees the signal before it
// waits (pending).
func (c *conn) signal(s signal) {
	c.flags.Or(uint32(s))
	c.mu.Lock()
	sub := c.waitOn
	c.mu.Unlock()
	if sub != nil {
		sub.Wake()
		return
	}
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// setSub makes sub the connection's subscription, the one whose Ready
// channel the writer waits on (nil: none, the writer waits on wake). A
// signal that went to the previous channel is not lost: the writer reads
// the signals before it waits again (serve, pending).
func (c *conn) setSub(sub bridge.Subscription) {
	if sub != nil {
		c.pace.Attach(sub)
	}
	c.sub = sub
	c.mu.Lock()
	c.waitOn = sub
	c.mu.Unlock()
}

// pending reports whether a signal waits to be handled. The writer asks
// before it waits on Ready: TryNext may have taken the token a signal
// left there along with the events.
func (c *conn) pending() bool {
	return c.flags.Load() != 0
}

// end asks the writer to end the connection for d. The first reason
// given wins.
func (c *conn) end(d disconnect) {
	c.mu.Lock()
	if c.flags.Load()&endedFlag == 0 {
		c.disc = d
		c.flags.Or(endedFlag)
	}
	c.mu.Unlock()
	c.cancel()
	c.signal(sigEnd)
}

// ending reports whether the connection was told to end.
func (c *conn) ending() bool {
	return c.flags.Load()&endedFlag != 0
}

// post hands a client frame's request to the writer. When the inbox is
// full the client is flooding, and the connection ends.
func (c *conn) post(r *request) {
	select {
	case c.inbox <- r:
		c.signal(sigInbox)
	default:
		c.h.met.Refuse(discFlood.label)
		c.end(discFlood)
	}
}

// take returns and clears the pending signals, and whether the
// connection must end.
func (c *conn) take() (signal, bool) {
	f := c.flags.Load()
	if f&^endedFlag != 0 {
		f = c.flags.And(endedFlag)
	}
	return signal(f &^ endedFlag), f&endedFlag != 0
}

// reason returns why the connection ends.
func (c *conn) reason() disconnect {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.disc
}

// closeRaw closes the TCP connection, once. It unblocks the reader and
// any write in progress.
func (c *conn) closeRaw() {
	c.closeOnce.Do(func() { _ = c.raw.Close() })
}

// position is where a new subscription of the connection resumes after:
// the last message written, or the position before any.
func (c *conn) position() string {
	if !c.last.IsZero() {
		return c.last.String()
	}
	return c.base
}

// teardown ends the connection for the reason it was given: the last
// frames and the close frame if the peer can still take them, the close
// handshake, then the TCP connection, the subscription and the
// bookkeeping. Called by the writer as it returns.
func (c *conn) teardown() {
	d := c.reason()
	if d.code != 0 && !c.broken && c.writeClose(d) {
		// Give the peer a moment to answer the close frame, so that it
		// reads the frame before the TCP connection goes.
		t := time.NewTimer(closeTimeout)
		select {
		case <-c.readDone:
		case <-t.C:
		}
		t.Stop()
		if c.readStoppedEarly() {
			c.linger()
		}
	}
	c.closeRaw()
	<-c.readDone
	c.timer.Stop()
	c.stopExpiry()
	c.release()
	if d == discTokenExpired {
		c.h.met.Refuse(refusal.TokenExpired)
	}
	c.cancel()
	c.releaseBatch()
	if c.sub != nil {
		c.sub.Close()
		c.setSub(nil)
		c.h.met.Subscriptions.Dec()
	}
	if log := c.h.log; log.Enabled(context.Background(), slog.LevelDebug) {
		log.LogAttrs(context.Background(), slog.LevelDebug, "websocket closed",
			slog.String("remote", c.remote), slog.String("reason", d.label),
			slog.Int("code", d.code), slog.String("position", c.position()))
	}
	c.h.remove(c)
}

// writeClose writes what is still pending and a close frame for d, with a
// short deadline, and reports whether that worked.
func (c *conn) writeClose(d disconnect) bool {
	b := c.batch()
	if c.tail != nil {
		b.vec = append([][]byte{c.tail}, b.vec...)
		c.tail = nil
	}
	b.closeFrame(d.code, d.reason)
	_ = c.raw.SetWriteDeadline(time.Now().Add(closeTimeout))
	bufs := net.Buffers(b.vec)
	_, err := rawconn.WriteBuffers(c.raw, &bufs)
	c.releaseBatch()
	return err == nil
}

// readStoppedEarly reports whether the reader returned with client input
// left unread (a frame over the limit, a protocol error).
func (c *conn) readStoppedEarly() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.unreadIn
}

// linger half-closes the connection and drains what the client still
// sends, for at most closeTimeout, so that closing with unread input
// does not reset the connection and destroy the close frame in flight.
// The reader has returned, so the writer may read.
func (c *conn) linger() {
	if hc, ok := c.raw.(interface{ CloseWrite() error }); ok {
		_ = hc.CloseWrite()
	}
	_ = c.raw.SetReadDeadline(time.Now().Add(closeTimeout))
	_, _ = io.CopyN(io.Discard, c.raw, lingerLimit)
}
