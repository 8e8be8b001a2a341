package gateway_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/heraldhq/herald/gateway"
	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// stream is an open subscribe response read line by line.
type stream struct {
	resp *http.Response
	r    *bufio.Reader
}

// subscribe opens GET path and returns once the response headers arrived.
// The body is closed when the test ends.
func (f *fixture) subscribe(t *testing.T, path string, header map[string]string) *stream {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	req := f.request(t, http.MethodGet, path, nil, header).WithContext(ctx)
	resp, err := f.client.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	t.Cleanup(func() { _ = resp.Body.Close() })
	return &stream{resp: resp, r: bufio.NewReader(resp.Body)}
}

// next reads the next newline-delimited JSON object: its only key and
// value.
func (s *stream) next(t *testing.T) (string, map[string]any) {
	t.Helper()
	line, err := s.r.ReadBytes('\n')
	if err != nil {
		t.Fatalf("reading a stream line: %v (got %q)", err, line)
	}
	var frame map[string]map[string]any
	if err := json.Unmarshal(line, &frame); err != nil {
		t.Fatalf("stream line %q is not a JSON object of objects: %v", line, err)
	}
	if len(frame) != 1 {
		t.Fatalf("stream line %q has %d keys, want 1", line, len(frame))
	}
	for k, v := range frame {
		return k, v
	}
	panic("unreachable")
}

// wantEOF checks that the stream ended.
func (s *stream) wantEOF(t *testing.T) {
	t.Helper()
	rest, err := io.ReadAll(s.r)
	if err != nil || len(rest) != 0 {
		t.Fatalf("after the last line: %q, %v; want the end of the stream", rest, err)
	}
}

// wantErrorLine checks an {"error":{…}} line.
func (s *stream) wantErrorLine(t *testing.T, code codes.Code, message string) {
	t.Helper()
	key, v := s.next(t)
	if key != "error" {
		t.Fatalf("line key = %q (%v), want error", key, v)
	}
	if got, _ := v["code"].(float64); int(got) != int(code) || v["message"] != message {
		t.Errorf("error = %v, want code %d message %q", v, code, message)
	}
	if d, ok := v["details"].([]any); !ok || len(d) != 0 {
		t.Errorf("error details = %v, want []", v["details"])
	}
}

// onlySubscribe returns the single Subscribe call the service received.
func onlySubscribe(t *testing.T, svc *fakeService) (*heraldv1.SubscribeRequest, metadata.MD) {
	t.Helper()
	calls := svc.received()
	if len(calls) != 1 {
		t.Fatalf("service received %d calls, want 1", len(calls))
	}
	req, ok := calls[0].req.(*heraldv1.SubscribeRequest)
	if !ok {
		t.Fatalf("service received %T, want a SubscribeRequest", calls[0].req)
	}
	return req, calls[0].md
}

// waitForDone returns a subscribe function that accepts the subscription,
// sends nothing and returns when the stream's context ends, closing ended.
func waitForDone(ended chan<- struct{}) func(*heraldv1.SubscribeRequest, heraldv1.PubSubService_SubscribeServer) error {
	return func(_ *heraldv1.SubscribeRequest, st heraldv1.PubSubService_SubscribeServer) error {
		defer close(ended)
		if err := st.SendHeader(metadata.MD{}); err != nil {
			return err
		}
		<-st.Context().Done()
		return st.Context().Err()
	}
}

// waitClosed waits for ch to be closed.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(timeout):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestSubscribeHeadersArriveBeforeFrames(t *testing.T) {
	t.Parallel()
	ended := make(chan struct{})
	f := newFixture(t, &fakeService{subscribe: waitForDone(ended)}, gateway.Config{})
	// The service sends no frame until the stream ends: subscribe returning
	// at all proves the headers were flushed.
	s := f.subscribe(t, "/v1/subscribe?topics=news", nil)
	if s.resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", s.resp.StatusCode)
	}
	for k, want := range map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "X-Accel-Buffering": "no"} {
		if got := s.resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if te := s.resp.TransferEncoding; len(te) != 1 || te[0] != "chunked" {
		t.Errorf("Transfer-Encoding = %q, want chunked", te)
	}
	_ = s.resp.Body.Close()
	waitClosed(t, ended, "the service stream to end after the client left")
}

func TestSubscribeClientDisconnectCancelsServiceStream(t *testing.T) {
	t.Parallel()
	ctxErr := make(chan error, 1)
	svc := &fakeService{subscribe: func(_ *heraldv1.SubscribeRequest, st heraldv1.PubSubService_SubscribeServer) error {
		if err := st.Send(&heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Subscribed{Subscribed: &heraldv1.Subscribed{Topics: []string{"news"}}}}); err != nil {
			return err
		}
		<-st.Context().Done()
		ctxErr <- st.Context().Err()
		return nil
	}}
	f := newFixture(t, svc, gateway.Config{})
	s := f.subscribe(t, "/v1/subscribe?topics=news", nil)
	if key, _ := s.next(t); key != "result" {
		t.Fatalf("first line key = %q, want result", key)
	}
	_ = s.resp.Body.Close()
	select {
	case err := <-ctxErr:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("service stream context ended with %v, want context.Canceled", err)
		}
	case <-time.After(timeout):
		t.Fatal("the service stream's context was not cancelled after the client left")
	}
}

func TestSubscribeStreamsNewlineDelimitedFrames(t *testing.T) {
	t.Parallel()
	frames := []*heraldv1.SubscribeResponse{
		{Frame: &heraldv1.SubscribeResponse_Subscribed{Subscribed: &heraldv1.Subscribed{
			Topics: []string{"a", "b.*"}, CurrentId: "0000000000000007", HeartbeatInterval: durationpb.New(15 * time.Second)}}},
		{Frame: &heraldv1.SubscribeResponse_Message{Message: &heraldv1.Message{
			Topic: "a", Id: "0000000000000008", Data: []byte("hi\n"), PublishTime: timestamppb.New(publishTime)}}},
		{Frame: &heraldv1.SubscribeResponse_Heartbeat{Heartbeat: &heraldv1.Heartbeat{Time: timestamppb.New(publishTime)}}},
	}
	svc := &fakeService{subscribe: func(_ *heraldv1.SubscribeRequest, st heraldv1.PubSubService_SubscribeServer) error {
		for _, fr := range frames {
			if err := st.Send(fr); err != nil {
				return err
			}
		}
		return status.Error(codes.ResourceExhausted, "subscriber too slow")
	}}
	f := newFixture(t, svc, gateway.Config{})
	s := f.subscribe(t, "/v1/subscribe?topics=a&topics=b.*&last_event_id=0000000000000005", nil)
	if s.resp.StatusCode != http.StatusOK {
		t.Fatalf("status = %d, want 200", s.resp.StatusCode)
	}

	key, v := s.next(t)
	sub, _ := v["subscribed"].(map[string]any)
	if key != "result" || len(v) != 1 || sub == nil {
		t.Fatalf("line 1 = %q %v, want a subscribed result", key, v)
	}
	if sub["current_id"] != "0000000000000007" || sub["heartbeat_interval"] != "15s" {
		t.Errorf("subscribed = %v, want current_id and heartbeat_interval in proto names", sub)
	}

	key, v = s.next(t)
	msg, _ := v["message"].(map[string]any)
	if key != "result" || len(v) != 1 || msg == nil {
		t.Fatalf("line 2 = %q %v, want a message result", key, v)
	}
	want := map[string]any{"topic": "a", "id": "0000000000000008", "data": "aGkK", "content_type": "", "event": "", "publish_time": "2025-01-02T03:04:05Z"}
	if len(msg) != len(want) {
		t.Errorf("message = %v, want exactly %v", msg, want)
	}
	for k, w := range want {
		if msg[k] != w {
			t.Errorf("message[%q] = %v, want %v", k, msg[k], w)
		}
	}

	if key, v = s.next(t); key != "result" || v["heartbeat"] == nil {
		t.Fatalf("line 3 = %q %v, want a heartbeat result", key, v)
	}
	s.wantErrorLine(t, codes.ResourceExhausted, "subscriber too slow")
	s.wantEOF(t)

	req, md := onlySubscribe(t, svc)
	if wantReq := (&heraldv1.SubscribeRequest{Topics: []string{"a", "b.*"}, LastEventId: "0000000000000005"}); !proto.Equal(req, wantReq) {
		t.Errorf("service received %v, want %v", req, wantReq)
	}
	wantTransportMetadata(t, md)
}

func TestSubscribeLastEventIDHeader(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		path   string
		header map[string]string
		want   string
	}{
		{"header only", "/v1/subscribe?topics=a", map[string]string{"Last-Event-ID": "0000000000000009"}, "0000000000000009"},
		{"query wins", "/v1/subscribe?topics=a&last_event_id=0000000000000003", map[string]string{"Last-Event-ID": "0000000000000009"}, "0000000000000003"},
		{"camel query wins", "/v1/subscribe?topics=a&lastEventId=0000000000000004", map[string]string{"Last-Event-ID": "0000000000000009"}, "0000000000000004"},
		{"neither", "/v1/subscribe?topics=a", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			svc := &fakeService{} // ends the stream at once, successfully
			f := newFixture(t, svc, gateway.Config{})
			resp, body := f.do(t, f.request(t, http.MethodGet, tt.path, nil, tt.header))
			if resp.StatusCode != http.StatusOK || len(body) != 0 {
				t.Errorf("status %d body %q, want 200 and nothing", resp.StatusCode, body)
			}
			req, _ := onlySubscribe(t, svc)
			if req.GetLastEventId() != tt.want || len(req.GetTopics()) != 1 || req.GetTopics()[0] != "a" {
				t.Errorf("service received %v, want topics [a] and last_event_id %q", req, tt.want)
			}
		})
	}
}

// TestSubscribeRefusedBeforeAccepting checks a subscription the service
// refuses outright: the mapped status and the error as the stream's only
// line.
func TestSubscribeRefusedBeforeAccepting(t *testing.T) {
	t.Parallel()
	svc := &fakeService{subscribe: func(*heraldv1.SubscribeRequest, heraldv1.PubSubService_SubscribeServer) error {
		return status.Error(codes.InvalidArgument, "no topics")
	}}
	f := newFixture(t, svc, gateway.Config{})
	s := f.subscribe(t, "/v1/subscribe", nil)
	if s.resp.StatusCode != http.StatusBadRequest {
		t.Errorf("status = %d, want 400", s.resp.StatusCode)
	}
	if ct := s.resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	s.wantErrorLine(t, codes.InvalidArgument, "no topics")
	s.wantEOF(t)
	if got := f.refused(t, "invalid_argument"); got != 0 {
		t.Errorf("gateway counted the service's refusal: refused = %v, want 0", got)
	}
}

// TestSubscribeFailsAfterAccepting checks a stream that fails after the
// headers were flushed but before any frame: status 200, one error line,
// and no complaint from net/http about a second status line (the fixture
// fails the test on any server log).
func TestSubscribeFailsAfterAccepting(t *testing.T) {
	t.Parallel()
	svc := &fakeService{subscribe: func(_ *heraldv1.SubscribeRequest, st heraldv1.PubSubService_SubscribeServer) error {
		if err := st.SendHeader(metadata.MD{}); err != nil {
			return err
		}
		return status.Error(codes.Unavailable, "engine closed")
	}}
	f := newFixture(t, svc, gateway.Config{})
	s := f.subscribe(t, "/v1/subscribe?topics=a", nil)
	if s.resp.StatusCode != http.StatusOK {
		t.Errorf("status = %d, want 200", s.resp.StatusCode)
	}
	s.wantErrorLine(t, codes.Unavailable, "engine closed")
	s.wantEOF(t)
}

// TestShutdownEndsStreamsAndRefusesCalls checks that cancelling the
// gateway's context ends an open stream with UNAVAILABLE and refuses new
// API calls with 503, while health keeps answering.
func TestShutdownEndsStreamsAndRefusesCalls(t *testing.T) {
	t.Parallel()
	ended := make(chan struct{})
	svc := &fakeService{subscribe: func(_ *heraldv1.SubscribeRequest, st heraldv1.PubSubService_SubscribeServer) error {
		defer close(ended)
		if err := st.Send(&heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Heartbeat{Heartbeat: &heraldv1.Heartbeat{}}}); err != nil {
			return err
		}
		<-st.Context().Done()
		return nil
	}}
	f := newFixture(t, svc, gateway.Config{})
	s := f.subscribe(t, "/v1/subscribe?topics=a", nil)
	if key, _ := s.next(t); key != "result" {
		t.Fatalf("first line key = %q, want result", key)
	}
	f.shutdown()
	s.wantErrorLine(t, codes.Unavailable, "server is shutting down")
	s.wantEOF(t)
	waitClosed(t, ended, "the service stream to end")

	resp, body := f.do(t, f.request(t, http.MethodPost, "/v1/topics/news", strings.NewReader("x"), nil))
	wantError(t, resp, body, http.StatusServiceUnavailable, int(codes.Unavailable))
	resp, body = f.do(t, f.request(t, http.MethodGet, "/v1/subscribe?topics=a", nil, nil))
	wantError(t, resp, body, http.StatusServiceUnavailable, int(codes.Unavailable))
	if got := len(svc.received()); got != 1 {
		t.Errorf("service received %d calls, want only the first subscribe", got)
	}
	if resp, body := f.do(t, f.request(t, http.MethodGet, "/healthz", nil, nil)); resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz after shutdown: %d %s, want 200", resp.StatusCode, body)
	}
}

// TestSubscribeRefusesBadQueries checks queries refused before the service
// is called.
func TestSubscribeRefusesBadQueries(t *testing.T) {
	t.Parallel()
	f := newFixture(t, &fakeService{}, gateway.Config{})
	tests := []struct {
		name   string
		path   string
		header map[string]string
	}{
		{"topic not UTF-8", "/v1/subscribe?topics=a%ff", nil},
		{"parameter name not UTF-8", "/v1/subscribe?topics=a&%ff=1", nil},
		{"Last-Event-ID not UTF-8", "/v1/subscribe?topics=a", map[string]string{"Last-Event-ID": "\xff"}},
		{"malformed query", "/v1/subscribe?topics=%zz", nil},
		{"last_event_id twice", "/v1/subscribe?topics=a&last_event_id=1&last_event_id=2", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := f.do(t, f.request(t, http.MethodGet, tt.path, nil, tt.header))
			wantError(t, resp, body, http.StatusBadRequest, int(codes.InvalidArgument))
		})
	}
	if got := f.refused(t, "invalid_argument"); got != float64(len(tests)) {
		t.Errorf("refused{reason=invalid_argument} = %v, want %d", got, len(tests))
	}
	if calls := f.svc.received(); len(calls) != 0 {
		t.Errorf("service received %d calls, want none", len(calls))
	}
}
