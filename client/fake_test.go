package client_test

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// stream is the server side of one Subscribe call.
type stream = grpc.ServerStreamingServer[heraldv1.SubscribeResponse]

// script plays one Subscribe call of the fake server.
type script func(req *heraldv1.SubscribeRequest, st stream) error

// fakeServer is a PubSubService whose Subscribe calls each play the next
// queued script, so tests decide exactly when streams drop, fail or go
// silent. A call with no script queued waits for one or for the client to
// leave.
type fakeServer struct {
	heraldv1.UnimplementedPubSubServiceServer

	scripts chan script
	reqs    chan *heraldv1.SubscribeRequest

	mu        sync.Mutex
	published []*heraldv1.PublishRequest
	pubErr    error
}

func (f *fakeServer) Publish(_ context.Context, req *heraldv1.PublishRequest) (*heraldv1.PublishResponse, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.pubErr != nil {
		return nil, f.pubErr
	}
	f.published = append(f.published, req)
	return &heraldv1.PublishResponse{Id: "e-1", PublishTime: timestamppb.New(time.Unix(1700000000, 0))}, nil
}

func (f *fakeServer) Subscribe(req *heraldv1.SubscribeRequest, st stream) error {
	f.reqs <- req
	select {
	case sc := <-f.scripts:
		return sc(req, st)
	case <-st.Context().Done():
		return st.Context().Err()
	}
}

// play queues scripts for the next Subscribe calls, in order.
func (f *fakeServer) play(scripts ...script) {
	for _, sc := range scripts {
		f.scripts <- sc
	}
}

// nextReq returns the request of the next Subscribe call.
func (f *fakeServer) nextReq(t *testing.T) *heraldv1.SubscribeRequest {
	t.Helper()
	select {
	case r := <-f.reqs:
		return r
	case <-time.After(10 * time.Second):
		t.Fatal("no Subscribe call arrived")
		return nil
	}
}

// startFake serves a fakeServer on a loopback port and returns it with a
// client connection to it; both are torn down at the end of the test.
func startFake(t *testing.T) (*fakeServer, *grpc.ClientConn) {
	t.Helper()
	f := &fakeServer{
		scripts: make(chan script, 64),
		reqs:    make(chan *heraldv1.SubscribeRequest, 64),
	}
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gs := grpc.NewServer()
	heraldv1.RegisterPubSubServiceServer(gs, f)
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(lis)
	}()
	conn, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		gs.Stop()
		<-served
	})
	return f, conn
}

// Frame builders.

func subscribed(currentID string, heartbeat time.Duration) *heraldv1.SubscribeResponse {
	return &heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Subscribed{Subscribed: &heraldv1.Subscribed{
		Topics: []string{"t"}, CurrentId: currentID, HeartbeatInterval: durationpb.New(heartbeat),
	}}}
}

func message(id, data string) *heraldv1.SubscribeResponse {
	return &heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Message{Message: &heraldv1.Message{
		Topic: "t", Id: id, Data: []byte(data), PublishTime: timestamppb.Now(),
	}}}
}

func heartbeat() *heraldv1.SubscribeResponse {
	return &heraldv1.SubscribeResponse{Frame: &heraldv1.SubscribeResponse_Heartbeat{Heartbeat: &heraldv1.Heartbeat{Time: timestamppb.Now()}}}
}

// sendThen sends frames, then ends the stream with err (nil: wait until the
// client leaves).
func sendThen(err error, frames ...*heraldv1.SubscribeResponse) script {
	return func(_ *heraldv1.SubscribeRequest, st stream) error {
		for _, f := range frames {
			if e := st.Send(f); e != nil {
				return e
			}
		}
		if err != nil {
			return err
		}
		<-st.Context().Done()
		return st.Context().Err()
	}
}
