package app

import (
	"context"
	"fmt"
	"slices"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/heraldhq/herald/internal/tlsfiles"
)

// upstreamCredentials secures a bridge's connection to its upstream: TLS
// trusting the certificate authorities of caFile (the system's when it is
// empty) when useTLS is set, plain text otherwise.
func upstreamCredentials(useTLS bool, caFile string) (credentials.TransportCredentials, error) {
	if !useTLS {
		return insecure.NewCredentials(), nil
	}
	cfg, err := tlsfiles.Client(caFile)
	if err != nil {
		return nil, fmt.Errorf("app: upstream: %w", err)
	}
	return credentials.NewTLS(cfg), nil
}

// withToken returns conn presenting token as "<key>: Bearer <token>"
// metadata on every call, over plain text and TLS alike; conn itself when
// token is empty. A bridge presents its upstream token under
// "authorization" (auth.MetadataKey) for its own subscriptions, and under
// server.RelayAuthorizationHeader on the calls its HTTP API relays, which
// present each client's own credential under "authorization".
func withToken(conn grpc.ClientConnInterface, key, token string) grpc.ClientConnInterface {
	if token == "" {
		return conn
	}
	creds := bearerMetadata{key: key, value: "Bearer " + token}
	return callOptionsConn{conn: conn, opts: []grpc.CallOption{grpc.PerRPCCredentials(creds)}}
}

// bearerMetadata is a fixed credential sent as one metadata pair.
type bearerMetadata struct{ key, value string }

// GetRequestMetadata returns the credential's metadata.
func (b bearerMetadata) GetRequestMetadata(context.Context, ...string) (map[string]string, error) {
	return map[string]string{b.key: b.value}, nil
}

// RequireTransportSecurity reports false: the upstream may be reached in
// plain text, on a private network.
func (bearerMetadata) RequireTransportSecurity() bool { return false }

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
