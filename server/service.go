package server

import (
	"context"

	"google.golang.org/grpc/metadata"

	heraldv1 "github.com/heraldhq/herald/gen/herald/v1"
	"github.com/heraldhq/herald/metrics"
)

// TransportHeader is the incoming metadata key with which the HTTP gateway
// marks the calls it makes on behalf of its clients ("x-herald-transport:
// gateway"). Their publishes, subscriptions and deliveries are counted under
// metrics.TransportGateway instead of metrics.TransportGRPC.
const TransportHeader = "x-herald-transport"

// service implements herald.v1.PubSubService on the Server's engine. It is
// safe for concurrent use: it holds no state of its own beyond the Server's.
type service struct {
	heraldv1.UnimplementedPubSubServiceServer
	srv *Server
}

var _ heraldv1.PubSubServiceServer = (*service)(nil)

// isGateway reports whether the call came through the HTTP gateway.
func isGateway(ctx context.Context) bool {
	for _, v := range metadata.ValueFromIncomingContext(ctx, TransportHeader) {
		if v == metrics.TransportGateway {
			return true
		}
	}
	return false
}
