package app

import (
	"context"
	"net"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

	"github.com/heraldhq/herald/server"
)

// inProcessBuffer is the size of the in-memory pipe between the gateway and
// the gRPC server, per direction of each connection.
const inProcessBuffer = 1 << 20

// inProcessTarget names the in-memory listener. The passthrough resolver
// hands it to the dialer unchanged; no name resolution or network is
// involved.
const inProcessTarget = "passthrough:///herald"

// dialInProcess returns a client connection to the gRPC server over lis,
// able to carry messages as large as the server accepts.
func dialInProcess(lis *bufconn.Listener, maxMessageSize int) (*grpc.ClientConn, error) {
	limit := maxMessageSize + server.EnvelopeRoom
	return grpc.NewClient(inProcessTarget,
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) {
			return lis.DialContext(ctx)
		}),
		grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(
			grpc.MaxCallRecvMsgSize(limit),
			grpc.MaxCallSendMsgSize(limit),
		),
	)
}
