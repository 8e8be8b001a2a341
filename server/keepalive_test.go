package server

import (
	"context"
	"encoding/binary"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"

	"github.com/heraldhq/herald/engine/memory"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

func TestKeepaliveDefaults(t *testing.T) {
	t.Parallel()
	d := DefaultKeepalive()
	if got := (Keepalive{}).withDefaults(); got != d {
		t.Errorf("zero Keepalive = %+v, want DefaultKeepalive %+v", got, d)
	}
	// Time+Timeout notices a dead peer within two default heartbeats.
	if d.Time+d.Timeout > 2*DefaultHeartbeatInterval {
		t.Errorf("Time+Timeout = %v, more than two heartbeat intervals", d.Time+d.Timeout)
	}
	// grpc-go clients cannot ping more often than every 10s; they must
	// never be told off.
	if d.MinTime > 10*time.Second || d.RefusePingsWithoutStream {
		t.Errorf("enforcement %v/refuse=%v would refuse well-behaved clients", d.MinTime, d.RefusePingsWithoutStream)
	}
	custom := Keepalive{Time: time.Minute, MaxConnectionAge: time.Hour}.withDefaults()
	want := d
	want.Time, want.MaxConnectionAge = time.Minute, time.Hour
	if custom != want {
		t.Errorf("partial Keepalive = %+v, want %+v", custom, want)
	}
}

// A client that pings far more often than MinTime is sent GOAWAY
// (ENHANCE_YOUR_CALM, "too_many_pings") and its calls fail with
// UNAVAILABLE.
//
// grpc-go clients never ping more often than every 10 seconds, whatever
// keepalive.ClientParameters say, so the test plays such a client: a
// grpc-go connection whose socket also carries a PING frame every 10ms,
// slipped in between the client's own frames.
func TestKeepaliveEnforcement(t *testing.T) {
	t.Parallel()
	e := newEnv(t, Config{
		HeartbeatInterval: time.Hour,
		Keepalive:         Keepalive{MinTime: time.Second},
	}, memory.Options{})
	ctx := testContext(t)

	conns := make(chan *pingConn, 4)
	c := e.client(t,
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			nc, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
			if err != nil {
				return nil, err
			}
			pc := newPingConn(nc)
			select {
			case conns <- pc:
			default:
			}
			return pc, nil
		}),
		// A fixed window turns off BDP estimation, whose own pings would
		// mix with the injected ones.
		grpc.WithInitialWindowSize(1<<20), grpc.WithInitialConnWindowSize(1<<20),
	)
	st, _ := subscribe(ctx, t, c, &heraldv1.SubscribeRequest{Topics: []string{"t"}})
	pc := <-conns

	var wg sync.WaitGroup
	stop := make(chan struct{})
	wg.Go(func() {
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if err := pc.ping(); err != nil {
					return
				}
			}
		}
	})
	defer wg.Wait()
	defer close(stop)

	_, err := recvUntilError(st)
	wantStatus(t, err, codes.Unavailable, "")
	select {
	case ga := <-pc.goaways:
		if ga.code != 0xb || ga.debug != "too_many_pings" {
			t.Errorf("GOAWAY code %#x debug %q, want ENHANCE_YOUR_CALM (0xb) too_many_pings", ga.code, ga.debug)
		}
	case <-ctx.Done():
		t.Fatal("the client saw no GOAWAY")
	}
}

// pingConn is a client connection that can write extra HTTP/2 PING frames
// between the frames the client writes, and that reports GOAWAY frames the
// server sends.
type pingConn struct {
	net.Conn
	mu      sync.Mutex // serialises writes and guards out
	out     frameScanner
	in      frameScanner // used by the client's single reader
	goaways chan goaway
	pings   uint64
}

type goaway struct {
	code  uint32
	debug string
}

const clientPrefaceLen = len("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")

func newPingConn(c net.Conn) *pingConn {
	pc := &pingConn{Conn: c, goaways: make(chan goaway, 4)}
	pc.out.skip = clientPrefaceLen
	pc.in.onFrame = func(typ byte, payload []byte) {
		const frameGoAway = 0x7
		if typ != frameGoAway || len(payload) < 8 {
			return
		}
		select {
		case pc.goaways <- goaway{code: binary.BigEndian.Uint32(payload[4:8]), debug: string(payload[8:])}:
		default:
		}
	}
	return pc
}

func (c *pingConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n, err := c.Conn.Write(p)
	c.out.feed(p[:n])
	return n, err
}

func (c *pingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.in.feed(p[:n])
	return n, err
}

// ping writes a PING frame if the client is between frames.
func (c *pingConn) ping() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.out.boundary() {
		return nil
	}
	c.pings++
	var f [9 + 8]byte
	f[2] = 8   // length
	f[3] = 0x6 // PING
	binary.BigEndian.PutUint64(f[9:], 0xfeed0000+c.pings)
	_, err := c.Conn.Write(f[:])
	return err
}

// frameScanner follows the HTTP/2 frame boundaries of one direction of a
// connection and hands complete GOAWAY and other small frames to onFrame.
type frameScanner struct {
	skip    int // preface bytes still to pass
	hdr     [9]byte
	hn      int // header bytes collected
	left    int // payload bytes of the current frame still to come
	typ     byte
	payload []byte
	onFrame func(typ byte, payload []byte)
}

const maxScannedPayload = 1 << 10

func (f *frameScanner) feed(p []byte) {
	for len(p) > 0 {
		switch {
		case f.skip > 0:
			n := min(f.skip, len(p))
			f.skip -= n
			p = p[n:]
		case f.left > 0:
			n := min(f.left, len(p))
			if len(f.payload)+n <= maxScannedPayload {
				f.payload = append(f.payload, p[:n]...)
			}
			f.left -= n
			p = p[n:]
			if f.left == 0 {
				f.done()
			}
		default:
			n := copy(f.hdr[f.hn:], p)
			f.hn += n
			p = p[n:]
			if f.hn == len(f.hdr) {
				f.hn = 0
				f.left = int(f.hdr[0])<<16 | int(f.hdr[1])<<8 | int(f.hdr[2])
				f.typ = f.hdr[3]
				f.payload = f.payload[:0]
				if f.left == 0 {
					f.done()
				}
			}
		}
	}
}

func (f *frameScanner) done() {
	if f.onFrame != nil {
		f.onFrame(f.typ, f.payload)
	}
}

// boundary reports whether the next byte starts a frame.
func (f *frameScanner) boundary() bool { return f.skip == 0 && f.hn == 0 && f.left == 0 }
