package ws

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	"github.com/heraldhq/herald/internal/rawconn"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/metrics"
)

func TestMain(m *testing.M) {
	if os.Getenv(envLoadURL) != "" {
		os.Exit(loadClient())
	}
	testutil.VerifyTestMain(m)
}

// testTimeout bounds every wait of a test: generous, because a busy
// two-core machine runs the race detector over several packages at once.
const testTimeout = 20 * time.Second

// env is a WebSocket handler on a memory engine, served over loopback.
type env struct {
	eng  *memory.Engine
	h    *Handler
	met  *metrics.Metrics
	logs *logBuffer // the handler's debug log
	srv  *httptest.Server
	url  string // ws://…/v1/ws
}

// logBuffer collects output written from several goroutines.
type logBuffer = testutil.Buffer

// envConfig tunes newEnv.
type envConfig struct {
	ws     Config
	engine memory.Options
	source bridge.LocalConfig
	// src, when set, serves the connections instead of a local source of
	// the engine.
	src bridge.Source
	// sndbuf, when set, shrinks the server's socket send buffers.
	sndbuf int
}

// newEnv starts a handler on a fresh engine; everything stops when the
// test ends.
func newEnv(t testing.TB, cfg envConfig) *env {
	t.Helper()
	eng := memory.New(cfg.engine)
	e := newEnvOn(t, eng, cfg)
	t.Cleanup(func() { _ = eng.Close() })
	return e
}

// newEnvOn starts a handler on eng, which the caller closes.
func newEnvOn(t testing.TB, eng *memory.Engine, cfg envConfig) *env {
	t.Helper()
	if cfg.ws.Metrics == nil {
		cfg.ws.Metrics = metrics.New()
	}
	logs := &logBuffer{}
	if cfg.ws.Logger == nil {
		cfg.ws.Logger = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	src := cfg.src
	if src == nil {
		src = bridge.NewLocalSource(eng, cfg.source)
	}
	h := New(src, cfg.ws)
	mux := http.NewServeMux()
	mux.Handle("GET /v1/ws", h)
	srv := httptest.NewUnstartedServer(mux)
	if cfg.sndbuf > 0 {
		srv.Listener = &smallBufListener{Listener: srv.Listener, sndbuf: cfg.sndbuf}
	}
	// The connections a node's HTTP port accepts.
	srv.Listener = rawconn.Listener(srv.Listener)
	srv.Start()
	e := &env{eng: eng, h: h, met: cfg.ws.Metrics, logs: logs, srv: srv,
		url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/v1/ws"}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		srv.Close()
	})
	return e
}

// smallBufListener shrinks the send buffer of accepted connections, so
// that a client that stops reading blocks the server's writes quickly.
type smallBufListener struct {
	net.Listener
	sndbuf int
}

func (l *smallBufListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetWriteBuffer(l.sndbuf)
	}
	return c, err
}

// dialOpts tunes dial.
type dialOpts struct {
	header http.Header
	rcvbuf int // shrinks the client's receive buffer when set
}

// dial opens a client connection with query appended to the URL
// ("?topic=a"); it is closed when the test ends.
func (e *env) dial(t testing.TB, query string, opts ...dialOpts) *websocket.Conn {
	t.Helper()
	c, resp, err := e.tryDial(t, query, opts...)
	if err != nil {
		var body []byte
		if resp != nil {
			body = readBody(resp)
		}
		t.Fatalf("dial %s: %v %s", query, err, body)
	}
	return c
}

// tryDial dials and returns the handshake's outcome.
func (e *env) tryDial(t testing.TB, query string, opts ...dialOpts) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	var o dialOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	d := websocket.Dialer{HandshakeTimeout: testTimeout}
	if o.rcvbuf > 0 {
		d.NetDialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			var nd net.Dialer
			c, err := nd.DialContext(ctx, network, addr)
			if tc, ok := c.(*net.TCPConn); ok {
				_ = tc.SetReadBuffer(o.rcvbuf)
			}
			return c, err
		}
	}
	c, resp, err := d.Dial(e.url+query, o.header)
	if c != nil {
		t.Cleanup(func() { _ = c.Close() })
	}
	return c, resp, err
}

func readBody(resp *http.Response) []byte {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	return buf.Bytes()
}

// publish publishes data to topic.
func (e *env) publish(t testing.TB, topic, data string) engine.PublishResult {
	t.Helper()
	res, err := e.eng.Publish(context.Background(), engine.PublishRequest{Topic: topic, Data: []byte(data)})
	if err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
	return res
}

// frame is any server frame, decoded.
type frame struct {
	Type              string          `json:"type"`
	Topics            []string        `json:"topics"`
	CurrentID         string          `json:"current_id"`
	HeartbeatInterval string          `json:"heartbeat_interval"`
	Topic             string          `json:"topic"`
	ID                json.RawMessage `json:"id"`
	Data              *string         `json:"data"`
	DataBase64        []byte          `json:"data_base64"`
	ContentType       string          `json:"content_type"`
	Event             string          `json:"event"`
	PublishTime       string          `json:"publish_time"`
	RequestedID       string          `json:"requested_id"`
	FirstAvailableID  string          `json:"first_available_id"`
	Reason            string          `json:"reason"`
	Time              string          `json:"time"`
	Code              string          `json:"code"`
	Message           string          `json:"message"`
	RetryAfterMS      *int64          `json:"retry_after_ms"`
	ExpiresAt         string          `json:"expires_at"`

	raw []byte
}

// msgID returns the id of a message frame.
func (f frame) msgID() string {
	var s string
	_ = json.Unmarshal(f.ID, &s)
	return s
}

// readFrame reads the next server frame.
func readFrame(t testing.TB, c *websocket.Conn) frame {
	t.Helper()
	f, err := tryReadFrame(c)
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	return f
}

// tryReadFrame reads the next server frame, which must be a JSON text
// frame.
func tryReadFrame(c *websocket.Conn) (frame, error) {
	_ = c.SetReadDeadline(time.Now().Add(testTimeout))
	typ, data, err := c.ReadMessage()
	if err != nil {
		return frame{}, err
	}
	if typ != websocket.TextMessage {
		return frame{}, errors.New("server sent a binary frame")
	}
	var f frame
	if err := json.Unmarshal(data, &f); err != nil {
		return frame{}, err
	}
	f.raw = data
	return f, nil
}

// next reads the next frame that is not a heartbeat.
func next(t testing.TB, c *websocket.Conn) frame {
	t.Helper()
	for {
		f := readFrame(t, c)
		if f.Type != "heartbeat" {
			return f
		}
	}
}

// expect reads the next frame that is not a heartbeat; it must have type
// typ.
func expect(t testing.TB, c *websocket.Conn, typ string) frame {
	t.Helper()
	f := next(t, c)
	if f.Type != typ {
		t.Fatalf("got frame %s, want type %q", f.raw, typ)
	}
	return f
}

// send writes v as a JSON text frame.
func send(t testing.TB, c *websocket.Conn, v string) {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(v)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// readUntilClose reads until the connection fails and returns the
// frames read and the error.
func readUntilClose(c *websocket.Conn) ([]frame, error) {
	var fs []frame
	for {
		f, err := tryReadFrame(c)
		if err != nil {
			return fs, err
		}
		fs = append(fs, f)
	}
}

// wantClose fails unless err is a close frame with code and a reason
// containing reason.
func wantClose(t testing.TB, err error, code int, reason string) {
	t.Helper()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != code || !strings.Contains(ce.Text, reason) {
		t.Fatalf("got %v, want close %d %q", err, code, reason)
	}
}

// waitFor polls cond until it holds or timeout passes.
var waitFor = testutil.WaitFor

// value reads a counter, gauge or histogram count.
var value = testutil.MetricValue

// gauge reads one of the "ws" instruments.
func (e *env) connections(t testing.TB) float64 {
	return value(t, e.met.Connections.WithLabelValues(metrics.TransportWS))
}

func (e *env) subscriptions(t testing.TB) float64 {
	return value(t, e.met.Subscriptions.WithLabelValues(metrics.TransportWS))
}

func (e *env) slowConsumers(t testing.TB) float64 {
	return value(t, e.met.SlowConsumers.WithLabelValues(metrics.TransportWS))
}

func (e *env) refused(t testing.TB, reason string) float64 {
	return value(t, e.met.Refused.WithLabelValues(metrics.TransportWS, reason))
}

// waitClosed waits until the server has freed every connection.
func (e *env) waitClosed(t testing.TB) {
	t.Helper()
	waitFor(t, testTimeout, "all connections freed", func() bool { return e.connections(t) == 0 })
}

// collector reads a connection in the background.
type collector struct {
	mu     sync.Mutex
	frames []frame
	err    error
	done   chan struct{}
}

// collect reads c until it fails, in a goroutine the test waits for.
func collect(t testing.TB, c *websocket.Conn) *collector {
	col := &collector{done: make(chan struct{})}
	go func() {
		defer close(col.done)
		for {
			f, err := tryReadFrame(c)
			col.mu.Lock()
			if err != nil {
				col.err = err
				col.mu.Unlock()
				return
			}
			col.frames = append(col.frames, f)
			col.mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		_ = c.Close()
		<-col.done
	})
	return col
}

// messages returns the message frames read so far.
func (col *collector) messages() []frame {
	col.mu.Lock()
	defer col.mu.Unlock()
	var ms []frame
	for _, f := range col.frames {
		if f.Type == "message" {
			ms = append(ms, f)
		}
	}
	return ms
}

// count returns how many frames of type typ were read.
func (col *collector) count(typ string) int {
	col.mu.Lock()
	defer col.mu.Unlock()
	n := 0
	for _, f := range col.frames {
		if f.Type == typ {
			n++
		}
	}
	return n
}

// wait waits for the reader to stop and returns its error.
func (col *collector) wait(t testing.TB) error {
	t.Helper()
	select {
	case <-col.done:
	case <-time.After(testTimeout):
		t.Fatal("timed out waiting for the connection to end")
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	return col.err
}

// waitingSource is a source whose subscriptions hand out their first
// ready messages at once, data "ready"; then nothing, and waiting gets a
// token; and after that one message whenever asked, data "late", but
// without ever signalling Ready for it (only Wake does): as a source that
// has a message ready just as the connection ends. Only a writer that
// takes events after its wait ended (for the end) sees the late ones.
type waitingSource struct {
	ready   uint64
	waiting chan struct{}
}

func (w waitingSource) Subscribe(_ context.Context, req bridge.Request) (bridge.Subscription, error) {
	return &waitingSubscription{src: w, topics: req.Topics, wake: make(chan struct{}, 1)}, nil
}

// waitingSubscription is a subscription of waitingSource.
type waitingSubscription struct {
	src    waitingSource
	topics []string
	seq    uint64
	waited bool          // TryNext came up empty once
	wake   chan struct{} // Ready: signalled by Wake only
}

func (s *waitingSubscription) Subscribed() bridge.Subscribed {
	return bridge.Subscribed{Topics: s.topics, CurrentID: engine.ID{Epoch: 1}.String()}
}

func (s *waitingSubscription) TryNext(dst []engine.Event) ([]engine.Event, error) {
	data := "ready"
	if s.seq >= s.src.ready {
		if !s.waited {
			s.waited = true
			select {
			case s.src.waiting <- struct{}{}:
			default:
			}
			return dst, nil
		}
		data = "late"
	}
	s.seq++
	return append(dst, engine.Event{Message: &engine.Message{
		ID: engine.ID{Epoch: 1, Seq: s.seq}, Topic: s.topics[0], Data: []byte(data), Time: time.Now(),
	}}), nil
}

func (s *waitingSubscription) Next(ctx context.Context, dst []engine.Event) ([]engine.Event, error) {
	if n := len(dst); s.seq < s.src.ready {
		dst, _ = s.TryNext(dst)
		if len(dst) > n {
			return dst, nil
		}
	}
	<-ctx.Done()
	return dst, ctx.Err()
}

func (s *waitingSubscription) Ready() <-chan struct{} { return s.wake }

func (s *waitingSubscription) Wake() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *waitingSubscription) Close() {}

// SetPostponer has nothing to do: no event arrives to wake the writer for.
func (s *waitingSubscription) SetPostponer(engine.Postponer) {}
