package sse

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/heraldhq/herald/metrics"
)

// dialStream opens a plain TCP connection to e and sends raw, an HTTP
// request written by hand.
func dialStream(t testing.TB, e *env, raw string) net.Conn {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.base, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	_ = conn.SetDeadline(time.Now().Add(testTimeout))
	if _, err := io.WriteString(conn, raw); err != nil {
		t.Fatal(err)
	}
	return conn
}

// readStream parses the response on conn to req and returns it with a
// reader of its events.
func readStream(t testing.TB, conn net.Conn, req *http.Request) (*eventStream, *bufio.Reader) {
	t.Helper()
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %s", resp.Status)
	}
	return &eventStream{resp: resp, r: bufio.NewReader(resp.Body), cancel: func() {}}, br
}

// readAllFrames reads a stream's frames until its body ends, and fails
// unless it ends cleanly: a response cut short is no proper end.
func readAllFrames(t testing.TB, s *eventStream) []frame {
	t.Helper()
	var frames []frame
	for {
		f, err := s.read()
		if errors.Is(err, io.EOF) {
			return frames
		}
		if err != nil {
			t.Fatalf("stream ended with %v after %d frames, want a clean end", err, len(frames))
		}
		frames = append(frames, f)
	}
}

// wantConnClosed checks that the server closed conn once the response
// ended: nothing more comes, only the end of the connection.
func wantConnClosed(t testing.TB, conn net.Conn, br *bufio.Reader) {
	t.Helper()
	_ = conn.SetReadDeadline(time.Now().Add(testTimeout))
	if n, err := br.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Fatalf("after the response: %d bytes, %v; want the connection closed", n, err)
	}
}

func TestHTTP1StreamEndsWithItsResponseAndConnection(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, proto string
		chunked     bool
	}{
		{"HTTP/1.1", "HTTP/1.1", true},
		{"HTTP/1.0", "HTTP/1.0", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t, envOptions{cfg: Config{Retry: time.Second}})
			conn := dialStream(t, e, "GET /v1/sse?topic=t "+tt.proto+"\r\nHost: herald\r\n\r\n")
			req, _ := http.NewRequest(http.MethodGet, e.base+"/v1/sse?topic=t", nil)
			s, br := readStream(t, conn, req)
			if !s.resp.Close || s.resp.Header.Get("Content-Type") != "text/event-stream" ||
				s.resp.Header.Get("Date") == "" || s.resp.ContentLength != -1 {
				t.Fatalf("response %s, close %v, length %d, headers %v",
					s.resp.Proto, s.resp.Close, s.resp.ContentLength, s.resp.Header)
			}
			if chunked := len(s.resp.TransferEncoding) == 1 && s.resp.TransferEncoding[0] == "chunked"; chunked != tt.chunked {
				t.Fatalf("Transfer-Encoding %v, want chunked %v", s.resp.TransferEncoding, tt.chunked)
			}
			s.subscribed(t)
			id := e.publish(t, "t", "hello")
			s.message(t, id, "hello")

			if err := e.h.Shutdown(t.Context()); err != nil {
				t.Fatal(err)
			}
			frames := readAllFrames(t, s)
			var ed errorData
			if len(frames) == 0 || frames[len(frames)-1].event != eventError ||
				json.Unmarshal([]byte(frames[len(frames)-1].data), &ed) != nil || ed.Code != "going_away" {
				t.Fatalf("frames %+v, want herald.error going_away last", frames)
			}
			wantConnClosed(t, conn, br)
			if n := value(t, e.metrics.Connections.WithLabelValues(metrics.TransportSSE)); n != 0 {
				t.Fatalf("connections gauge %v after the shutdown", n)
			}
		})
	}
}

// TestHTTP1ClientThatLeavesIsNoticedAtOnce: the watcher of a hijacked
// connection notices the client's close without any write, on a
// connection the runtime's poller waits on and on one that hides its
// descriptor, which the watcher reads instead.
func TestHTTP1ClientThatLeavesIsNoticedAtOnce(t *testing.T) {
	t.Parallel()
	for name, listen := range map[string]func(net.Listener) net.Listener{
		"descriptor":    nil,
		"no descriptor": func(l net.Listener) net.Listener { return plainListener{l} },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			// No heartbeat comes for an hour: only the connection's
			// watcher can notice the client's close.
			e := newEnv(t, envOptions{cfg: Config{HeartbeatInterval: time.Hour, MaxHeartbeat: time.Hour}, listen: listen})
			conn := dialStream(t, e, "GET /v1/sse?topic=t HTTP/1.1\r\nHost: herald\r\n\r\n")
			req, _ := http.NewRequest(http.MethodGet, e.base+"/v1/sse?topic=t", nil)
			s, _ := readStream(t, conn, req)
			s.subscribed(t)
			if n := e.subscriptions(t); n != 1 {
				t.Fatalf("subscriptions gauge %v, want 1", n)
			}
			_ = conn.Close()
			waitFor(t, 5*time.Second, "the stream's end", func() bool { return e.subscriptions(t) == 0 })
			if n := value(t, e.metrics.Connections.WithLabelValues(metrics.TransportSSE)); n != 0 {
				t.Fatalf("connections gauge %v after the client left", n)
			}
			if n := value(t, e.metrics.SlowConsumers.WithLabelValues(metrics.TransportSSE)); n != 0 {
				t.Fatalf("%v slow consumers counted for a client that left", n)
			}
		})
	}
}

// plainListener hands out connections that hide their file descriptor
// (they are no syscall.Conn).
type plainListener struct{ net.Listener }

type plainConn struct{ net.Conn }

func (l plainListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return plainConn{c}, nil
}

func TestHTTP1BytesAfterTheRequestAreIgnored(t *testing.T) {
	t.Parallel()
	e := newEnv(t, envOptions{})
	// A pipelined request, and later more bytes: the stream goes on.
	conn := dialStream(t, e, "GET /v1/sse?topic=t HTTP/1.1\r\nHost: herald\r\n\r\nGET / HTTP/1.1\r\n")
	req, _ := http.NewRequest(http.MethodGet, e.base+"/v1/sse?topic=t", nil)
	s, _ := readStream(t, conn, req)
	s.subscribed(t)
	if _, err := io.WriteString(conn, "Host: herald\r\n\r\n"+strings.Repeat("x", 4096)); err != nil {
		t.Fatal(err)
	}
	id := e.publish(t, "t", "still here")
	s.message(t, id, "still here")
	if n := e.subscriptions(t); n != 1 {
		t.Fatalf("subscriptions gauge %v, want 1", n)
	}
}

func TestCurlReadsAStreamToItsEnd(t *testing.T) {
	t.Parallel()
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Skip("curl is not installed")
	}
	e := newEnv(t, envOptions{cfg: Config{Retry: time.Second}})
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, curl, "--silent", "--show-error", "--no-buffer", "--http1.1",
		"--include", e.base+"/v1/sse?topic=t")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	br := bufio.NewReader(out)
	var got strings.Builder
	for !strings.Contains(got.String(), "event: "+eventSubscribed) {
		line, err := br.ReadString('\n')
		if err != nil {
			t.Fatalf("curl's output %q: %v", got.String(), err)
		}
		got.WriteString(line)
	}
	if err := e.h.Shutdown(t.Context()); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(br)
	if err != nil {
		t.Fatal(err)
	}
	got.Write(rest)
	// curl fails (exit 18, a transfer closed with data outstanding) when
	// a chunked body does not end properly.
	if err := cmd.Wait(); err != nil {
		t.Fatalf("curl: %v: %s", err, stderr.String())
	}
	text := got.String()
	if !strings.Contains(text, "Transfer-Encoding: chunked") || !strings.Contains(text, `"code":"going_away"`) {
		t.Fatalf("curl's output %q, want a chunked stream that ends with going_away", text)
	}
}

// TestFrame: a chunk framed in a stream's buffer, in the room kept at its
// front, is the size line in hex, the data and CRLF, whether the buffer
// has room to spare at its end or grows.
func TestFrame(t *testing.T) {
	hc := &hijacked{chunked: true}
	for _, n := range []int{1, 15, 16, 255, 4096, 70000} {
		data := strings.Repeat("d", n-1) + "e"
		want := strconv.FormatInt(int64(n), 16) + "\r\n" + data + "\r\n"
		for _, spare := range []int{0, 1, 64} {
			b := append(make([]byte, chunkRoom, chunkRoom+n+spare), data...)
			if got := string(hc.frame(&b, chunkRoom)); got != want {
				t.Errorf("%d bytes, %d spare: got %.40q…, want %.40q…", n, spare, got, want)
			}
			if !strings.HasSuffix(string(b), want) {
				t.Errorf("%d bytes, %d spare: the buffer does not end with the chunk", n, spare)
			}
		}
	}
}
