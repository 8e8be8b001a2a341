package main

import (
	"errors"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/heraldhq/herald/client"
)

// defaultServer is where publish and subscribe connect by default.
const defaultServer = "localhost:9090"

// connFlags say how publish and subscribe reach a server and whom they
// act for.
type connFlags struct {
	server string
	token  string
	tls    bool
	caFile string
}

// define adds the flags to c.
func (f *connFlags) define(c *command) {
	c.String(&f.server, "server", "ADDR", defaultServer, "Server's gRPC address (host:port).")
	c.String(&f.token, "token", "TOKEN", "",
		"Token or API key to present (authorization: Bearer). Better given as HERALD_TOKEN: flags show in ps.")
	c.Bool(&f.tls, "tls", false, "Connect over TLS, trusting the system's certificate authorities.")
	c.String(&f.caFile, "ca-file", "FILE", "", "Connect over TLS, trusting the certificate authorities of this PEM file.")
}

// transportCredentials is the one place that decides how the commands
// secure their connections to a server: TLS with --tls or --ca-file,
// plain text otherwise.
func (f *connFlags) transportCredentials() (credentials.TransportCredentials, error) {
	if !f.tls && f.caFile == "" {
		return insecure.NewCredentials(), nil
	}
	return client.TLSCredentials(f.caFile)
}

// clientOptions are the options of the client: the token, if any.
func (f *connFlags) clientOptions() []client.Option {
	if f.token == "" {
		return nil
	}
	return []client.Option{client.WithToken(f.token)}
}

// dial returns a client connection to the server. The connection retries
// a lost server quickly (at most every 5s), so that a subscription resumes
// soon after the server is back.
func (f *connFlags) dial() (*grpc.ClientConn, error) {
	creds, err := f.transportCredentials()
	if err != nil {
		return nil, err
	}
	conn, err := grpc.NewClient(f.server,
		grpc.WithTransportCredentials(creds),
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay:  250 * time.Millisecond,
				Multiplier: 1.6,
				Jitter:     0.2,
				MaxDelay:   5 * time.Second,
			},
			MinConnectTimeout: 10 * time.Second,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("server %q: %w", f.server, err)
	}
	return conn, nil
}

// describe turns a gRPC status error into "Code: message", leaving other
// errors as they are.
func describe(err error) error {
	var se interface{ GRPCStatus() *status.Status }
	if errors.As(err, &se) {
		st := se.GRPCStatus()
		return fmt.Errorf("%s: %s", st.Code(), st.Message())
	}
	return err
}
