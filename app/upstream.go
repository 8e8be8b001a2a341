package app

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/heraldhq/herald/client"
	"github.com/heraldhq/herald/internal/tlsfiles"
)

// upstreamCredentials secures a bridge's connection to its upstream: TLS
// when asked for or when a CA file is given, plain text otherwise.
func upstreamCredentials(useTLS bool, caFile string) (credentials.TransportCredentials, error) {
	if !useTLS && caFile == "" {
		return insecure.NewCredentials(), nil
	}
	cfg, err := tlsfiles.Client(caFile)
	if err != nil {
		return nil, fmt.Errorf("app: upstream: %w", err)
	}
	return credentials.NewTLS(cfg), nil
}

// withToken returns conn presenting token as "authorization: Bearer …" on
// every call, over plain text and TLS alike; conn itself when token is
// empty. Only the bridge's own subscriptions go through it: the relayed
// HTTP API presents each client's credential instead.
func withToken(conn grpc.ClientConnInterface, token string) grpc.ClientConnInterface {
	if token == "" {
		return conn
	}
	creds := client.BearerToken(func(context.Context) (string, error) { return token, nil })
	return callOptionsConn{conn: conn, opts: []grpc.CallOption{grpc.PerRPCCredentials(creds)}}
}

// callOptionsConn adds call options to every call made over a connection.
type callOptionsConn struct {
	conn grpc.ClientConnInterface
	opts []grpc.CallOption
}

// Invoke performs a unary call with the added options first.
func (c callOptionsConn) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	return c.conn.Invoke(ctx, method, args, reply, append(slices.Clip(c.opts), opts...)...)
}

// NewStream begins a streaming call with the added options first.
func (c callOptionsConn) NewStream(ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption) (grpc.ClientStream, error) {
	return c.conn.NewStream(ctx, desc, method, append(slices.Clip(c.opts), opts...)...)
}
