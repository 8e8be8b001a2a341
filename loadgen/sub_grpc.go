package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/netip"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
)

// grpcClientBuffer is the read and write buffer of each subscriber's
// HTTP/2 connection: a subscriber writes almost nothing, and 10 000
// connections with grpc-go's 32 KiB defaults would cost the load generator
// more memory than the server.
const grpcClientBuffer = 8 << 10

// grpcClientWindow is the HTTP/2 flow-control window of each subscriber's
// stream and connection. Setting it turns off grpc-go's bandwidth
// estimation, whose pings and window updates cost the load generator CPU
// for nothing on loopback; 1 MiB never limits a subscriber that keeps
// reading. It is credit, not memory: nothing is allocated for it.
const grpcClientWindow = 1 << 20

// grpcConn is a subscriber over PubSubService.Subscribe on a connection of
// its own.
type grpcConn struct {
	target netip.AddrPort
	dial   func(ctx context.Context, network, addr string) (net.Conn, error)
	topic  string

	ctx    context.Context // the stream's; canceled by close
	cancel context.CancelFunc
	cc     *grpc.ClientConn
	stream grpc.ServerStreamingClient[heraldv1.SubscribeResponse]
}

func newGRPCConn(ctx context.Context, target netip.AddrPort, dial func(context.Context, string, string) (net.Conn, error), topic string) *grpcConn {
	ctx, cancel := context.WithCancel(ctx)
	return &grpcConn{target: target, dial: dial, topic: topic, ctx: ctx, cancel: cancel}
}

// newGRPCClient returns a client connection to target that dials with
// dial. It dials nothing until first used.
func newGRPCClient(target netip.AddrPort, dial func(context.Context, string, string) (net.Conn, error), opts ...grpc.DialOption) (*grpc.ClientConn, error) {
	opts = append([]grpc.DialOption{
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithNoProxy(), // loopback only, never through a proxy
		grpc.WithContextDialer(func(ctx context.Context, addr string) (net.Conn, error) {
			return dial(ctx, "tcp", addr)
		}),
	}, opts...)
	return grpc.NewClient("passthrough:///"+target.String(), opts...)
}

func (c *grpcConn) open(ctx context.Context) error {
	cc, err := newGRPCClient(c.target, c.dial,
		grpc.WithReadBufferSize(grpcClientBuffer),
		grpc.WithWriteBufferSize(grpcClientBuffer),
		grpc.WithInitialWindowSize(grpcClientWindow),
		grpc.WithInitialConnWindowSize(grpcClientWindow),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(wsReadLimit), grpc.ForceCodecV2(subscribeCodec{})))
	if err != nil {
		return err
	}
	c.cc = cc
	stop := context.AfterFunc(ctx, c.cancel)
	defer stop()
	st, err := heraldv1.NewPubSubServiceClient(cc).Subscribe(c.ctx,
		&heraldv1.SubscribeRequest{Topics: []string{c.topic}})
	if err != nil {
		return fmt.Errorf("Subscribe: %w", err)
	}
	c.stream = st
	for {
		resp, err := st.Recv()
		if err != nil {
			return fmt.Errorf("Subscribe: before the subscription was confirmed: %w", err)
		}
		if resp.GetSubscribed() != nil {
			return nil
		}
	}
}

func (c *grpcConn) read(s *subscriber) error {
	for {
		resp, err := c.stream.Recv()
		if err != nil {
			if st, ok := status.FromError(err); ok && st.Code() != codes.Canceled && st.Code() != codes.Unknown {
				return &serverClosedError{reason: fmt.Sprintf("%s: %s", st.Code(), st.Message())}
			}
			return err
		}
		switch f := resp.GetFrame().(type) {
		case *heraldv1.SubscribeResponse_Message:
			s.message(f.Message.GetData())
		case *heraldv1.SubscribeResponse_Heartbeat:
			s.heartbeat()
		case *heraldv1.SubscribeResponse_HistoryGap:
			s.gap()
		}
	}
}

func (c *grpcConn) close() {
	c.cancel()
	if c.cc != nil {
		_ = c.cc.Close()
	}
}
