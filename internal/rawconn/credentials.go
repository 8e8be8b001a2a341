package rawconn

import (
	"context"
	"net"

	"google.golang.org/grpc/credentials"
)

// ClientCredentials returns creds with the connection each handshake is
// given wrapped (Wrap) first: the gRPC client's own dialler, with its
// proxy support, makes the connection, and its reads and writes (under
// TLS when creds add it) are a Conn's.
func ClientCredentials(creds credentials.TransportCredentials) credentials.TransportCredentials {
	return clientCredentials{creds}
}

// clientCredentials is the credentials.TransportCredentials of
// ClientCredentials.
type clientCredentials struct {
	credentials.TransportCredentials
}

// ClientHandshake does the wrapped credentials' handshake over conn,
// wrapped.
func (c clientCredentials) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.TransportCredentials.ClientHandshake(ctx, authority, Wrap(conn))
}

// Clone returns a copy of the credentials.
func (c clientCredentials) Clone() credentials.TransportCredentials {
	return clientCredentials{c.TransportCredentials.Clone()}
}
