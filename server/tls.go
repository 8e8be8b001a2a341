package server

import (
	"context"
	"crypto/tls"
	"net"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
)

// inProcessPlain is the server's transport security when Config.TLS is
// set: TLS on every connection except those of the in-process listener,
// which never leave the process (the HTTP gateway's), and stay in plain
// text with the NoSecurity level, as insecure credentials give them.
type inProcessPlain struct {
	tls   credentials.TransportCredentials
	plain credentials.TransportCredentials
}

var _ credentials.TransportCredentials = (*inProcessPlain)(nil)

// newServerCreds returns the transport credentials of a server that serves
// TLS with cfg.
func newServerCreds(cfg *tls.Config) credentials.TransportCredentials {
	return &inProcessPlain{tls: credentials.NewTLS(cfg), plain: insecure.NewCredentials()}
}

// ServerHandshake does the TLS handshake, or none on an in-process
// connection.
func (c *inProcessPlain) ServerHandshake(conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	if inProcess(conn.LocalAddr()) {
		return c.plain.ServerHandshake(conn)
	}
	return c.tls.ServerHandshake(conn)
}

// ClientHandshake does the TLS handshake of a client; the server does not
// use it.
func (c *inProcessPlain) ClientHandshake(ctx context.Context, authority string, conn net.Conn) (net.Conn, credentials.AuthInfo, error) {
	return c.tls.ClientHandshake(ctx, authority, conn)
}

// Info describes the security protocol: TLS.
func (c *inProcessPlain) Info() credentials.ProtocolInfo { return c.tls.Info() }

// Clone returns a copy.
func (c *inProcessPlain) Clone() credentials.TransportCredentials {
	return &inProcessPlain{tls: c.tls.Clone(), plain: c.plain.Clone()}
}

// OverrideServerName is passed on to TLS; grpc has deprecated it, but it
// is part of the interface.
func (c *inProcessPlain) OverrideServerName(name string) error {
	return c.tls.OverrideServerName(name)
}
