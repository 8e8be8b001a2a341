package sse

import (
	"bufio"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/heraldhq/herald/bridge"
	"github.com/heraldhq/herald/engine"
	"github.com/heraldhq/herald/engine/memory"
	"github.com/heraldhq/herald/internal/rawconn"
	"github.com/heraldhq/herald/internal/testutil"
	"github.com/heraldhq/herald/metrics"
)

func TestMain(m *testing.M) {
	testutil.VerifyTestMain(m)
}

// testTimeout bounds every wait of a test: generous, because a busy
// two-core machine runs the race detector over several packages at once.
const testTimeout = 20 * time.Second

// waitFor polls cond until it holds or timeout passes.
var waitFor = testutil.WaitFor

// proto names how a test server speaks HTTP.
type proto string

const (
	http1 proto = "HTTP/1.1"
	h2c   proto = "h2c"
	h2tls proto = "HTTP/2+TLS"
)

// env is an SSE handler over a memory engine, served on loopback.
type env struct {
	eng     *memory.Engine
	h       *Handler
	metrics *metrics.Metrics
	base    string // the server's URL
	client  *http.Client
}

// envOptions configure newEnv.
type envOptions struct {
	cfg    Config
	engine memory.Options
	local  bridge.LocalConfig
	// source, when set, serves the streams instead of a local source of
	// the engine.
	source bridge.Source
	proto  proto
	// listen wraps the server's listener (for tiny socket buffers).
	listen func(net.Listener) net.Listener
}

// newEnv starts a handler with o on a fresh engine; everything stops when
// the test ends.
func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	if o.cfg.Metrics == nil {
		o.cfg.Metrics = metrics.New()
	}
	if o.proto == "" {
		o.proto = http1
	}
	e := &env{eng: memory.New(o.engine), metrics: o.cfg.Metrics}
	src := o.source
	if src == nil {
		src = bridge.NewLocalSource(e.eng, o.local)
	}
	e.h = New(src, o.cfg)
	e.base, e.client = serve(t, e.h, o.proto, o.listen)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
		defer cancel()
		if err := e.h.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
		_ = e.eng.Close()
	})
	return e
}

// serve serves h on loopback with p and returns its URL and a client that
// speaks p. The server closes when the test ends (after cleanups
// registered later, such as the handler's shutdown).
func serve(t testing.TB, h http.Handler, p proto, listen func(net.Listener) net.Listener) (string, *http.Client) {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if listen != nil {
		lis = listen(lis)
	}
	// The connections a node's HTTP port accepts (the listener's own
	// wrappers stay as they are).
	lis = rawconn.Listener(lis)
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	switch p {
	case http1:
		srv := httptest.NewUnstartedServer(h)
		srv.Listener = lis
		srv.Start()
		t.Cleanup(srv.Close)
		return srv.URL, &http.Client{Transport: tr}
	case h2tls:
		srv := httptest.NewUnstartedServer(h)
		srv.Listener = lis
		srv.EnableHTTP2 = true
		srv.StartTLS()
		t.Cleanup(srv.Close)
		tr.TLSClientConfig = &tls.Config{RootCAs: srv.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs}
		tr.ForceAttemptHTTP2 = true
		return srv.URL, &http.Client{Transport: tr}
	case h2c:
		var protocols http.Protocols
		protocols.SetHTTP1(true)
		protocols.SetUnencryptedHTTP2(true)
		srv := &http.Server{Handler: h, Protocols: &protocols, ReadHeaderTimeout: testTimeout}
		done := make(chan struct{})
		go func() {
			defer close(done)
			_ = srv.Serve(lis)
		}()
		t.Cleanup(func() {
			_ = srv.Close()
			<-done
		})
		var client http.Protocols
		client.SetUnencryptedHTTP2(true)
		tr.Protocols = &client
		return "http://" + lis.Addr().String(), &http.Client{Transport: tr}
	}
	t.Fatalf("unknown protocol %q", p)
	return "", nil
}

// publish publishes data to topic and returns its id.
func (e *env) publish(t testing.TB, topic, data string) engine.ID {
	t.Helper()
	return publishReq(t, e.eng, engine.PublishRequest{Topic: topic, Data: []byte(data)})
}

func publishReq(t testing.TB, eng engine.Engine, req engine.PublishRequest) engine.ID {
	t.Helper()
	res, err := eng.Publish(context.Background(), req)
	if err != nil {
		t.Fatalf("Publish %s: %v", req.Topic, err)
	}
	return res.ID
}

// frame is one dispatched block of an event stream, parsed as the SSE
// format defines it: the fields up to a blank line.
type frame struct {
	id       string
	hasID    bool
	event    string
	data     string
	hasData  bool
	retry    string
	comments []string
}

// isHeartbeat reports whether f is a heartbeat frame.
func (f frame) isHeartbeat() bool { return f.event == eventHeartbeat }

// eventStream is a client's side of an event stream.
type eventStream struct {
	resp   *http.Response
	r      *bufio.Reader
	cancel context.CancelFunc
}

// open requests path (with its query) with header and returns the stream
// once the response headers have arrived with 200.
func (e *env) open(t testing.TB, path string, header http.Header) *eventStream {
	t.Helper()
	resp, cancel := e.get(t, path, header)
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s %s", path, resp.Status, body)
	}
	return &eventStream{resp: resp, r: bufio.NewReader(resp.Body), cancel: cancel}
}

// get sends GET path and returns the response, closed when the test ends.
func (e *env) get(t testing.TB, path string, header http.Header) (*http.Response, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.base+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := e.client.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = resp.Body.Close()
	})
	return resp, cancel
}

// close ends the client's side.
func (s *eventStream) close() {
	s.cancel()
	_ = s.resp.Body.Close()
}

// readLine reads one line ended by CR, LF or CRLF, as the SSE format
// defines lines, and returns it without its end.
func (s *eventStream) readLine() (string, error) {
	var b strings.Builder
	for {
		c, err := s.r.ReadByte()
		if err != nil {
			return b.String(), err
		}
		switch c {
		case '\n':
			return b.String(), nil
		case '\r':
			if next, err := s.r.Peek(1); err == nil && next[0] == '\n' {
				_, _ = s.r.ReadByte()
			}
			return b.String(), nil
		}
		b.WriteByte(c)
	}
}

// read returns the next frame, or the error that ended the stream.
func (s *eventStream) read() (frame, error) {
	var f frame
	var data []string
	seen := false
	for {
		line, err := s.readLine()
		if err != nil {
			return f, err
		}
		if line == "" {
			if !seen {
				continue
			}
			f.data = strings.Join(data, "\n")
			return f, nil
		}
		seen = true
		if c, ok := strings.CutPrefix(line, ":"); ok {
			f.comments = append(f.comments, strings.TrimPrefix(c, " "))
			continue
		}
		name, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch name {
		case "id":
			f.id, f.hasID = value, true
		case "event":
			f.event = value
		case "data":
			data = append(data, value)
			f.hasData = true
		case "retry":
			f.retry = value
		}
	}
}

// next returns the next frame, failing the test if the stream ends.
func (s *eventStream) next(t testing.TB) frame {
	t.Helper()
	f, err := s.read()
	if err != nil {
		t.Fatalf("reading the stream: %v", err)
	}
	return f
}

// event returns the next frame that is not a heartbeat.
func (s *eventStream) event(t testing.TB) frame {
	t.Helper()
	for {
		if f := s.next(t); !f.isHeartbeat() {
			return f
		}
	}
}

// subscribed reads the retry frame and the herald.subscribed event that
// start every stream, and returns the latter's data.
func (s *eventStream) subscribed(t testing.TB) (frame, subscribedData) {
	t.Helper()
	if f := s.next(t); f.retry == "" {
		t.Fatalf("first frame %+v, want retry", f)
	}
	f := s.next(t)
	if f.event != eventSubscribed {
		t.Fatalf("second frame %+v, want %s", f, eventSubscribed)
	}
	var d subscribedData
	if err := json.Unmarshal([]byte(f.data), &d); err != nil {
		t.Fatalf("subscribed data %q: %v", f.data, err)
	}
	return f, d
}

// message reads the next event and checks it is the message id with data.
func (s *eventStream) message(t testing.TB, id engine.ID, data string) frame {
	t.Helper()
	f := s.event(t)
	if f.id != id.String() || f.data != data || strings.HasPrefix(f.event, reservedPrefix) {
		t.Fatalf("got %+v, want message %s with data %q", f, id, data)
	}
	return f
}

// ended reads until the stream ends and returns the frames read.
func (s *eventStream) ended(t testing.TB) []frame {
	t.Helper()
	var frames []frame
	for {
		f, err := s.read()
		if err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Fatalf("stream ended with %v, want its end", err)
			}
			return frames
		}
		frames = append(frames, f)
	}
}

// value reads a counter or gauge, or a histogram's sample count.
func value(t testing.TB, c prometheus.Collector) float64 {
	t.Helper()
	m, ok := c.(prometheus.Metric)
	if !ok {
		t.Fatalf("%T is not a single metric", c)
	}
	return testutil.MetricValue(t, m)
}

// gauge is the sse subscriptions gauge.
func (e *env) subscriptions(t testing.TB) float64 {
	t.Helper()
	return value(t, e.metrics.Subscriptions.WithLabelValues(metrics.TransportSSE))
}

// errorBody is the JSON error body of a refused request.
type errorBody struct {
	Code    int               `json:"code"`
	Message string            `json:"message"`
	Details []json.RawMessage `json:"details"`
}

// refused sends GET path and checks the answer is status with a JSON error
// whose message contains msg.
func (e *env) refused(t testing.TB, path string, header http.Header, status int, msg string) errorBody {
	t.Helper()
	resp, _ := e.get(t, path, header)
	if resp.StatusCode != status {
		// Not read: the body may be an endless event stream.
		t.Fatalf("GET %s: %s, want %d", path, resp.Status, status)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var eb errorBody
	if resp.Header.Get("Content-Type") != "application/json" ||
		json.Unmarshal(body, &eb) != nil || !strings.Contains(eb.Message, msg) || eb.Details == nil {
		t.Fatalf("GET %s: %s %q %s, want %d with a JSON error containing %q",
			path, resp.Status, resp.Header.Get("Content-Type"), body, status, msg)
	}
	return eb
}

// prometheusCollector is what the metric vectors hand out.
type prometheusCollector = prometheus.Collector

// newLocal is a local source with default queues.
func newLocal(eng engine.Engine) bridge.Source {
	return bridge.NewLocalSource(eng, bridge.LocalConfig{})
}

// mustRequest is a publish request of data to topic.
func mustRequest(topic, data string) engine.PublishRequest {
	return engine.PublishRequest{Topic: topic, Data: []byte(data)}
}

// blockingSource is a source whose Subscribe waits for release, whatever
// its context says: a handler stuck where Shutdown cannot reach it.
type blockingSource struct{ release chan struct{} }

func (b blockingSource) Subscribe(context.Context, bridge.Request) (bridge.Subscription, error) {
	<-b.release
	return nil, errBlocked
}

var errBlocked = errors.New("released")

// readySource is a source whose subscriptions always have a message
// ready, as a source whose queue never runs dry: TryNext hands one out at
// once. The message's data is "late" when the stream's context (the one
// the stream subscribed with) had ended, by expiry or Shutdown, as it was
// handed out, and "live" otherwise.
type readySource struct{}

func (readySource) Subscribe(ctx context.Context, req bridge.Request) (bridge.Subscription, error) {
	ready := make(chan struct{})
	close(ready)
	return &readySubscription{ctx: ctx, topics: req.Topics, ready: ready}, nil
}

// readySubscription is a subscription of readySource.
type readySubscription struct {
	ctx    context.Context
	topics []string
	seq    uint64
	ready  chan struct{} // closed: always ready
}

func (s *readySubscription) Subscribed() bridge.Subscribed {
	return bridge.Subscribed{Topics: s.topics, CurrentID: engine.ID{Epoch: 1}.String()}
}

func (s *readySubscription) TryNext(dst []engine.Event) ([]engine.Event, error) {
	time.Sleep(time.Millisecond) // a steady flow rather than a busy loop
	s.seq++
	data := "live"
	if cause := context.Cause(s.ctx); errors.Is(cause, errTokenExpired) || errors.Is(cause, errGoingAway) {
		data = "late"
	}
	return append(dst, engine.Event{Message: &engine.Message{
		ID: engine.ID{Epoch: 1, Seq: s.seq}, Topic: s.topics[0], Data: []byte(data), Time: time.Now(),
	}}), nil
}

func (s *readySubscription) Next(_ context.Context, dst []engine.Event) ([]engine.Event, error) {
	return s.TryNext(dst)
}

func (s *readySubscription) Ready() <-chan struct{} { return s.ready }

func (s *readySubscription) Wake() {}

func (s *readySubscription) Close() {}

// SetPostponer has nothing to do: events are always ready, never arrive.
func (s *readySubscription) SetPostponer(engine.Postponer) {}
