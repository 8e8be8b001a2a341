package app_test

import (
	"bufio"
	"context"
	"encoding/json"
	"github.com/heraldhq/herald/internal/testutil"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/heraldhq/herald/app"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// testConfig is a node on free loopback ports with short intervals.
func testConfig(t *testing.T) app.Config {
	cfg := app.DefaultConfig()
	cfg.GRPCAddr = "127.0.0.1:0"
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.HeartbeatInterval = 200 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Logger = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelDebug}))
	return cfg
}

// startNode starts a node with cfg, shut down at the end of the test.
func startNode(t *testing.T, cfg app.Config) *app.Node {
	t.Helper()
	n, err := app.Start(t.Context(), cfg)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := n.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return n
}

// dial returns a client connection to addr that reconnects quickly, closed
// at the end of the test.
func dial(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr,
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff:           backoff.Config{BaseDelay: 20 * time.Millisecond, Multiplier: 1.6, MaxDelay: 200 * time.Millisecond},
			MinConnectTimeout: 5 * time.Second,
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// waitFor polls cond until it holds or timeout passes.
var waitFor = testutil.WaitFor

// recv returns the next frame of a Subscribe stream that is not a
// heartbeat.
func recv(t *testing.T, st grpc.ServerStreamingClient[heraldv1.SubscribeResponse]) *heraldv1.SubscribeResponse {
	t.Helper()
	for {
		resp, err := st.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		if resp.GetHeartbeat() == nil {
			return resp
		}
	}
}

// subscribeGRPC opens a Subscribe stream and waits for its subscribed
// frame.
func subscribeGRPC(t *testing.T, ctx context.Context, conn grpc.ClientConnInterface, req *heraldv1.SubscribeRequest) grpc.ServerStreamingClient[heraldv1.SubscribeResponse] {
	t.Helper()
	st, err := heraldv1.NewPubSubServiceClient(conn).Subscribe(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	if resp := recv(t, st); resp.GetSubscribed() == nil {
		t.Fatalf("first frame %v, want subscribed", resp)
	}
	return st
}

// httpStream is a GET /v1/subscribe response read line by line.
type httpStream struct {
	resp  *http.Response
	lines *bufio.Scanner
}

// streamFrame is one line of a gateway stream.
type streamFrame struct {
	Result *struct {
		Subscribed *struct {
			Topics    []string `json:"topics"`
			CurrentID string   `json:"current_id"`
		} `json:"subscribed"`
		Message *struct {
			Topic       string `json:"topic"`
			ID          string `json:"id"`
			Data        []byte `json:"data"` // base64 in JSON
			ContentType string `json:"content_type"`
			Event       string `json:"event"`
		} `json:"message"`
		Heartbeat json.RawMessage `json:"heartbeat"`
	} `json:"result"`
	Error *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// subscribeHTTP opens GET /v1/subscribe?<query> and waits for the
// subscribed line.
func subscribeHTTP(t *testing.T, ctx context.Context, hc *http.Client, base, query string) *httpStream {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/subscribe?"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET /v1/subscribe: %s %s", resp.Status, body)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	s := &httpStream{resp: resp, lines: sc}
	if f := s.next(t); f.Result == nil || f.Result.Subscribed == nil {
		t.Fatalf("first line is not subscribed: %+v", f)
	}
	return s
}

// next returns the next line that is not a heartbeat.
func (s *httpStream) next(t *testing.T) streamFrame {
	t.Helper()
	for s.lines.Scan() {
		var f streamFrame
		if err := json.Unmarshal(s.lines.Bytes(), &f); err != nil {
			t.Fatalf("line %q: %v", s.lines.Text(), err)
		}
		if f.Result != nil && f.Result.Heartbeat != nil {
			continue
		}
		return f
	}
	t.Fatalf("stream ended: %v", s.lines.Err())
	return streamFrame{}
}

// post sends body to url and returns the status and the answer.
func post(t *testing.T, hc *http.Client, url, contentType, body string) (int, string) {
	t.Helper()
	resp, err := hc.Post(url, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// get fetches url and returns the status and the body.
func get(t *testing.T, hc *http.Client, url string) (int, string) {
	t.Helper()
	resp, err := hc.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// httpClient returns a client with connections of its own, closed at the
// end of the test.
func httpClient(t *testing.T) *http.Client {
	tr := &http.Transport{}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

func baseURL(n *app.Node) string { return "http://" + n.HTTPAddr().String() }
